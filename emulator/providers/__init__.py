"""The one table of what the runtime owns: a provider per service, each installing its
operations and observers on the front. Everything not listed here is moto's, untouched."""

from __future__ import annotations

from typing import Any

from emulator import service_rules
from emulator.authorizer import Authorizer
from emulator.providers.cloudwatch import CloudWatchProvider
from emulator.providers.events import EventsProvider
from emulator.providers.lambda_ import LambdaProvider
from emulator.providers.s3 import S3Provider
from emulator.providers.sagemaker import SageMakerProvider
from emulator.providers.sagemaker_runtime import SageMakerRuntimeProvider


def install(
    cloud: Any,
    *,
    bus: Any,
    lambdas: Any,
    executor: Any,
    endpoints: Any,
    metrics: Any,
    alarms: Any = None,
    enforce_iam: bool = True,
) -> list[Any]:
    s3 = S3Provider(cloud, bus.put)
    providers = [
        s3,
        SageMakerProvider(cloud, executor=executor, endpoints=endpoints, emit=bus.put),
        SageMakerRuntimeProvider(endpoints),
        LambdaProvider(lambdas),
        EventsProvider(cloud, bus),
        CloudWatchProvider(cloud, metrics),
    ]
    for provider in providers:
        provider.install(cloud.front)
    for service in service_rules.RULED_SERVICES:
        cloud.front.rule(service, service_rules.check_request)
    if enforce_iam:
        # IAM per principal; the services' own deliveries (alarm notifications, dead letters)
        # are checked against the resource's policy through the same authorizer.
        authorizer = Authorizer(cloud, bucket_policies=s3.policies)
        authorizer.install(cloud.front)
        bus.authorizer = authorizer
        if alarms is not None:
            alarms.authorizer = authorizer
        providers.append(authorizer)
    return providers
