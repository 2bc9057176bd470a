"""Deployment: the rollback alarms, the model's execution role, and the function that deploys
approved models blue/green, follows the endpoint and starts monitoring while a model serves."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import contracts
from infra.components.component import Component
from infra.components.foundation import Foundation
from infra.components.monitoring import Monitoring
from infra.components.training import Training
from infra.constructs import access
from infra.constructs.alarms import EndpointAlarms
from infra.constructs.functions import LoopFunction
from infra.constructs.serving import ModelExecutionRole

VARIANT_NAME = "AllTraffic"


class Deployment(Component):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base: Foundation,
        training: Training,
        monitoring: Monitoring,
    ) -> None:
        super().__init__(scope, construct_id)
        config, names, storage = base.config, base.names, base.storage
        self.alarms = EndpointAlarms(
            self,
            "EndpointAlarms",
            names=names,
            endpoint_name=names.endpoint,
            variant_name=VARIANT_NAME,
            max_5xx_per_minute=config.deployment.max_5xx_per_minute,
            latency_p99_ms=config.deployment.latency_p99_ms,
        ).all
        model_role = ModelExecutionRole(
            self,
            "ModelRole",
            names=names,
            data_bucket=storage.data_bucket,
            artifacts_bucket=storage.artifacts_bucket,
            key=storage.key,
            rollback_alarms=self.alarms,
        ).role
        self.deploy = LoopFunction(
            self,
            "Deploy",
            platform=base.platform,
            name="deploy",
            description="Deploys approved models with blue/green canaries; verifies the result",
            settings=contracts.deploy_settings(
                config,
                base.deployed,
                model_role_arn=model_role.role_arn,
                rollback_alarm_names=[a.alarm_name for a in self.alarms],
            ),
            timeout=Duration.minutes(2),
        )
        sm = access.SageMakerArns.of(Stack.of(self), names)
        self.deploy.grant(
            # The deployment state: read, and conditional updates (functions/deploy/state.py).
            access.items(base.table, ("GetItem", "UpdateItem")),
            access.objects(storage.artifacts_bucket, (*access.READ, *access.WRITE), "live/*"),
            # No live record yet must read as NoSuchKey, not AccessDenied.
            access.listing(storage.artifacts_bucket),
            training.list_packages,
            training.read_packages,
            iam.PolicyStatement(actions=["sagemaker:CreateModel"], resources=[sm.models]),
            iam.PolicyStatement(
                actions=["sagemaker:CreateEndpointConfig"], resources=[sm.endpoint_configs]
            ),
            iam.PolicyStatement(
                actions=["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"],
                resources=[sm.endpoint, sm.endpoint_configs],
            ),
            # A failed endpoint cannot be updated; one serving a rejected model with no other
            # approved version is taken down. DescribeEndpoint also drives the deletion waiter.
            iam.PolicyStatement(
                actions=["sagemaker:DescribeEndpoint", "sagemaker:DeleteEndpoint"],
                resources=[sm.endpoint],
            ),
            # The monitoring schedule runs through deploy, which starts it while a model serves.
            iam.PolicyStatement(
                actions=["sagemaker:StartPipelineExecution"],
                resources=[monitoring.pipeline.pipeline_arn],
            ),
            # CreateModel hands the model its own execution role, and no other.
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[model_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            base.publish(),
        )
