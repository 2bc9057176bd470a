"""What each function's code calls, granted on exactly the resources it calls it on.

Every statement here is matched by a call in `functions/`: the least-privilege test
(tests/infra/test_infra_least_privilege.py) finds the calls and compares them with these
grants, both ways. The functions' common grants (the key, the failure queue, X-Ray) come with
`LoopFunction`.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns

from infra.constructs import access
from infra.constructs.data_storage import INCOMING_PREFIX, QUARANTINE_PREFIX, DataStorage
from infra.constructs.nag import acknowledge, resources
from infra.names import PhysicalNames

# The guard, pending arrivals and Powertools idempotency (functions/shared/training.py, runs.py).
TRAINING_STATE_ACTIONS = (
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "BatchWriteItem",
    # The acceptance records of the current versions (functions/shared/dataset.py).
    "BatchGetItem",
)


@dataclass(frozen=True, kw_only=True)
class LoopAccess:
    names: PhysicalNames
    storage: DataStorage
    table: dynamodb.ITable
    topic: sns.ITopic
    training_pipeline_arn: str
    monitoring_pipeline_arn: str
    model_role: iam.IRole

    def grant(
        self,
        stack: Stack,
        *,
        data_arrival: lambda_.IFunction,
        pipeline_events: lambda_.IFunction,
        deploy: lambda_.IFunction,
        drift_retrain: lambda_.IFunction,
    ) -> None:
        data, artifacts = self.storage.data_bucket, self.storage.artifacts_bucket
        sm = _sagemaker_arns(stack, self.names)
        start_training = iam.PolicyStatement(
            actions=["sagemaker:StartPipelineExecution", "sagemaker:DescribePipelineExecution"],
            resources=[self.training_pipeline_arn, sm.executions(self.training_pipeline_arn)],
        )
        write_manifests = access.objects(artifacts, access.WRITE, "manifests/*")
        # A manifest lists the current versions under incoming/ (ListObjectVersions).
        list_dataset = access.listing(data, INCOMING_PREFIX, action="s3:ListBucketVersions")
        read_packages = iam.PolicyStatement(
            actions=["sagemaker:DescribeModelPackage"], resources=[sm.packages]
        )
        # SageMaker List* calls take no resource-level permission (only ListTags does):
        # https://docs.aws.amazon.com/sagemaker/latest/dg/api-permissions-reference.html
        list_packages = iam.PolicyStatement(
            actions=["sagemaker:ListModelPackages"], resources=["*"]
        )
        publish = iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn])

        access.allow(
            data_arrival,
            access.items(self.table, TRAINING_STATE_ACTIONS),
            # HeadObject and a ranged GetObject of the event's version; CopyObject's source.
            access.objects(data, access.READ_VERSIONS, f"{INCOMING_PREFIX}*"),
            # A missing key must read as 404 (ignored), not 403 (a failed invocation).
            access.listing(data),
            access.objects(data, access.WRITE, f"{QUARANTINE_PREFIX}*"),
            # A delete marker (DeleteObject without a VersionId); the version itself is kept.
            access.objects(data, ("s3:DeleteObject",), f"{INCOMING_PREFIX}*"),
            write_manifests,
            list_dataset,
            start_training,
        )
        access.allow(
            pipeline_events,
            access.items(self.table, TRAINING_STATE_ACTIONS),
            write_manifests,
            list_dataset,
            start_training,
            iam.PolicyStatement(
                actions=["sagemaker:ListPipelineExecutionSteps"],
                resources=[sm.executions(self.training_pipeline_arn)],
            ),
            list_packages,
            read_packages,
            publish,
        )
        access.allow(
            drift_retrain,
            access.items(self.table, TRAINING_STATE_ACTIONS),
            write_manifests,
            list_dataset,
            start_training,
        )
        access.allow(
            deploy,
            # The deployment state: read, and conditional updates (functions/deploy/state.py).
            access.items(self.table, ("GetItem", "UpdateItem")),
            access.objects(artifacts, (*access.READ, *access.WRITE), "live/*"),
            # No live record yet must read as NoSuchKey, not AccessDenied.
            access.listing(artifacts),
            list_packages,
            read_packages,
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
                resources=[self.monitoring_pipeline_arn],
            ),
            # CreateModel hands the model its own execution role, and no other.
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.model_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            publish,
        )
        self._acknowledge(
            stack,
            sm,
            data_arrival=data_arrival,
            pipeline_events=pipeline_events,
            deploy=deploy,
            drift_retrain=drift_retrain,
        )

    def _acknowledge(
        self, stack: Stack, sm: _SageMakerArns, **functions: lambda_.IFunction
    ) -> None:
        """The wildcards of the grants above, each a prefix of keys or ids AWS assigns."""
        data, artifacts = self.storage.data_bucket, self.storage.artifacts_bucket
        reason = (
            "Object keys under one prefix of this stack's buckets, pipeline executions of the "
            "training pipeline, versions of this model package group, and models/endpoint "
            "configs named after this endpoint: ids and keys that are only known at run time."
        )
        executions = sm.executions(self.training_pipeline_arn)
        scoped = {
            "data_arrival": (
                data.arn_for_objects(f"{INCOMING_PREFIX}*"),
                data.arn_for_objects(f"{QUARANTINE_PREFIX}*"),
                artifacts.arn_for_objects("manifests/*"),
                executions,
            ),
            "pipeline_events": (artifacts.arn_for_objects("manifests/*"), executions, sm.packages),
            "drift_retrain": (artifacts.arn_for_objects("manifests/*"), executions),
            "deploy": (
                artifacts.arn_for_objects("live/*"),
                sm.packages,
                sm.models,
                sm.endpoint_configs,
            ),
        }
        for name, arns in scoped.items():
            acknowledge(functions[name], "AwsSolutions-IAM5", reason, resources(stack, *arns))


@dataclass(frozen=True)
class _SageMakerArns:
    base: str
    names: PhysicalNames

    @property
    def packages(self) -> str:
        return f"{self.base}:model-package/{self.names.model_group}/*"

    @property
    def models(self) -> str:
        return f"{self.base}:model/{self.names.endpoint}-*"

    @property
    def endpoint_configs(self) -> str:
        return f"{self.base}:endpoint-config/{self.names.endpoint}-*"

    @property
    def endpoint(self) -> str:
        return f"{self.base}:endpoint/{self.names.endpoint}"

    @staticmethod
    def executions(pipeline_arn: str) -> str:
        return f"{pipeline_arn}/execution/*"


def _sagemaker_arns(stack: Stack, names: PhysicalNames) -> _SageMakerArns:
    return _SageMakerArns(f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}", names)
