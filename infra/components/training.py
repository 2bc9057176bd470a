"""Training: the pipelines' role and code, the training pipeline, the model registry, and the
function that follows each run (notify, release the guard, start the follow-up run)."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import contracts
from infra.components.component import Component
from infra.components.foundation import TRAINING_STATE_ACTIONS, Foundation
from infra.constructs import access
from infra.constructs.functions import LoopFunction
from infra.constructs.training import ModelRegistry, SageMakerExecutionRole, SageMakerPipeline
from infra.names import INCOMING_PREFIX
from infra.pipeline_definitions import PipelineArtifacts


class Training(Component):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base: Foundation,
        pipelines: PipelineArtifacts,
    ) -> None:
        super().__init__(scope, construct_id)
        names, storage = base.names, base.storage
        ModelRegistry(
            self,
            "Registry",
            group_name=names.model_group,
            description=(
                f"{names.prefix}: models trained by the training pipeline, awaiting approval"
            ),
        )
        # Both pipelines' jobs run as this role (the monitoring pipeline's too).
        self.role = SageMakerExecutionRole(
            self,
            "SageMakerRole",
            names=names,
            data_bucket=storage.data_bucket,
            artifacts_bucket=storage.artifacts_bucket,
            key=storage.key,
            metrics_namespace=names.drift_namespace,
            labelled_folders=_folders(contracts.labelled_traffic_folders(base.config)),
        ).role
        code_bundle = pipelines.code_bundle_asset(self, "PipelineCode")
        # Processing steps get the bundle as an input (ListBucket + GetObject on its key), the
        # training job as its submit directory.
        access.allow(
            self.role,
            access.objects(code_bundle.bucket, access.READ, code_bundle.s3_object_key),
            access.listing(code_bundle.bucket, code_bundle.s3_object_key),
        )
        self.pipelines = pipelines
        self.substitutions = {
            "PipelineRoleArn": self.role.role_arn,
            "CodeBundleUri": code_bundle.s3_object_url,
            "CodeVersion": pipelines.code_version,
            "DataBucket": storage.data_bucket.bucket_name,
            "ArtifactsBucket": storage.artifacts_bucket.bucket_name,
            "ModelPackageGroupName": names.model_group,
            "SklearnImageUri": pipelines.sklearn_image_uri(Stack.of(self)),
            "EndpointName": names.endpoint,
            "MetricsNamespace": names.drift_namespace,
            "KmsKeyArn": storage.key.key_arn,
        }
        self.pipeline = self.sagemaker_pipeline(
            "TrainingPipeline",
            pipeline_name=names.training_pipeline,
            description="Validate, preprocess, train, evaluate, baseline, gate and register",
            definition=pipelines.training_definition,
            placeholders=pipelines.training_placeholders,
        )
        sm = access.SageMakerArns.of(Stack.of(self), names)
        executions = sm.executions(self.pipeline.pipeline_arn)
        # What a function needs to start a training run: the guard and pending arrivals, the
        # run's data manifest, and the pipeline.
        self.start_statements = (
            access.items(base.table, TRAINING_STATE_ACTIONS),
            access.objects(storage.artifacts_bucket, access.WRITE, "manifests/*"),
            # A manifest lists the current versions under incoming/ (ListObjectVersions).
            access.listing(storage.data_bucket, INCOMING_PREFIX, action="s3:ListBucketVersions"),
            iam.PolicyStatement(
                actions=["sagemaker:StartPipelineExecution", "sagemaker:DescribePipelineExecution"],
                resources=[self.pipeline.pipeline_arn, executions],
            ),
        )
        self.read_packages = iam.PolicyStatement(
            actions=["sagemaker:DescribeModelPackage"], resources=[sm.packages]
        )
        # SageMaker List* calls take no resource-level permission (only ListTags does):
        # https://docs.aws.amazon.com/sagemaker/latest/dg/api-permissions-reference.html
        self.list_packages = iam.PolicyStatement(
            actions=["sagemaker:ListModelPackages"], resources=["*"]
        )
        self.pipeline_events = LoopFunction(
            self,
            "PipelineEvents",
            platform=base.platform,
            name="pipeline_events",
            description="Reacts to training runs ending: notify, release, follow up",
            settings=contracts.pipeline_events_settings(base.config, base.deployed),
        )
        self.pipeline_events.grant(
            *self.start_statements,
            iam.PolicyStatement(
                actions=["sagemaker:ListPipelineExecutionSteps"], resources=[executions]
            ),
            self.list_packages,
            self.read_packages,
            base.publish(),
        )

    def sagemaker_pipeline(
        self,
        construct_id: str,
        *,
        pipeline_name: str,
        description: str,
        definition: str,
        placeholders: tuple[str, ...],
        scope: Construct | None = None,
    ) -> SageMakerPipeline:
        """A pipeline run by the pipelines' role, its placeholders filled from the stack."""
        pipeline = SageMakerPipeline(
            scope or self,
            construct_id,
            pipeline_name=pipeline_name,
            description=description,
            definition_body=definition,
            substitutions=self.pipelines.pick(self.substitutions, placeholders),
            role=self.role,
        )
        pipeline.node.add_dependency(self.role)
        return pipeline


def _folders(folders: contracts.EndpointFolders | None) -> tuple[str, ...]:
    return () if folders is None else (folders.capture, folders.ground_truth)
