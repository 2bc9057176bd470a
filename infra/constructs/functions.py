"""The Lambda glue of the loop: one construct per function, all alike in how they fail and log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import jsii
from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.shared.settings import FunctionSettings
from infra.constructs import access
from infra.constructs.nag import acknowledge, resources
from infra.names import PhysicalNames

# infra/assets.py vendors the handlers' dependencies for exactly this runtime and architecture.
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.X86_64
DEFAULT_TIMEOUT = Duration.seconds(60)
# Why the functions' grants name resources with a wildcard.
RUN_TIME_KEYS = (
    "Object keys under one prefix of this stack's buckets, pipeline executions of the "
    "training pipeline, versions of this model package group, and models/endpoint "
    "configs named after this endpoint: ids and keys that are only known at run time."
)


class FailureQueue(Construct):
    """The dead-letter queue every asynchronous invocation of the loop ends in when it fails."""

    def __init__(
        self, scope: Construct, construct_id: str, *, names: PhysicalNames, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=names.failure_queue,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        Validations.of(self.queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="This queue is the dead-letter queue of the loop; a dead-letter queue of a "
                "dead-letter queue would only hide failures.",
            )
        )


@jsii.implements(lambda_.IDestination)
class FailureDestination:
    """The failure queue as an on-failure destination, granting only what Lambda calls on it.

    `aws_lambda_destinations.SqsDestination` also grants sqs:GetQueueAttributes and GetQueueUrl;
    Lambda delivers with sqs:SendMessage alone (the execution role's permission, see
    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
    """

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self,
        scope: Construct,
        fn: lambda_.IFunction,
        *,
        type: lambda_.DestinationType,  # noqa: A002
    ) -> lambda_.DestinationConfig:
        access.allow(
            fn,
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self._queue.queue_arn]),
        )
        return lambda_.DestinationConfig(destination=self._queue.queue_arn)


@dataclass(frozen=True, kw_only=True)
class FunctionPlatform:
    """What every function of the loop shares: its code package, failure queue, key and names."""

    names: PhysicalNames
    code: lambda_.Code
    failure_queue: sqs.IQueue
    key: kms.IKey
    # Reserved concurrency per function name; the others scale freely (FunctionsConfig).
    reserved: Mapping[str, int] = field(default_factory=dict)


class LoopFunction(Construct):
    """A Python Lambda from `functions/<name>/handler.py` with X-Ray and a DLQ; `code` carries
    Powertools and the other dependencies (infra/assets.py). Its environment is its settings
    model's (`settings.to_env()`), which the handler reads back.

    EventBridge invokes asynchronously: Lambda retries twice, then the event and its error go to
    the failure queue, so nothing is dropped silently. Its role gets the key's use (the table,
    topic, failure queue and buckets are all encrypted with it); `grant` adds the rest.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: FunctionPlatform,
        name: str,
        description: str,
        settings: FunctionSettings,
        timeout: Duration = DEFAULT_TIMEOUT,
        memory_size: int = 256,
    ) -> None:
        super().__init__(scope, construct_id)
        names, key = platform.names, platform.key
        function_name = names.function(name)
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=names.log_group(name),
            retention=logs.RetentionDays.THREE_MONTHS,
            encryption_key=key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=f"functions.{name}.handler.lambda_handler",
            code=platform.code,
            environment=settings.to_env(),
            timeout=timeout,
            memory_size=memory_size,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            # Off unless the config reserves it (a new account cannot): see FunctionsConfig.
            reserved_concurrent_executions=platform.reserved.get(name),
            retry_attempts=2,
            max_event_age=Duration.hours(6),
            on_failure=FailureDestination(platform.failure_queue),
        )
        access.allow(self.function, access.key_use(key))
        self.function_name = function_name
        acknowledge(
            self.function,
            "AwsSolutions-IAM4",
            "AWSLambdaBasicExecutionRole only allows writing this function's logs; it is the "
            "AWS-maintained minimum for Lambda.",
            [
                "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
            ],
        )
        acknowledge(
            self.function,
            "AwsSolutions-IAM5",
            "Resource::* only for actions that support no resource-level permissions (checked for "
            "every statement against the Service Authorization Reference by "
            "tests/infra/test_infra_iam_resources.py): X-Ray's PutTraceSegments and "
            "PutTelemetryRecords, and sagemaker:ListModelPackages where a function lists the "
            "registry.",
            ["Resource::*"],
        )

    def grant(self, *statements: iam.PolicyStatement, reason: str = RUN_TIME_KEYS) -> None:
        """Add `statements` to the function's role, and acknowledge each wildcard resource in
        them (cdk-nag's AwsSolutions-IAM5) for `reason`: the grants are the one list."""
        access.allow(self.function, *statements)
        stack = Stack.of(self)
        wildcards = dict.fromkeys(
            finding
            for statement in statements
            for finding in resources(stack, *statement.resources)
            if "*" in finding and finding != "Resource::*"
        )
        if wildcards:
            acknowledge(self.function, "AwsSolutions-IAM5", reason, wildcards)
