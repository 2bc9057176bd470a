"""The learning side: the model registry, the SageMaker execution role and the pipelines."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Fn, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra.constructs import access
from infra.constructs.nag import acknowledge, resources
from infra.names import (
    CAPTURE_PREFIX,
    GROUND_TRUTH_PREFIX,
    INCOMING_PREFIX,
    QUARANTINE_PREFIX,
    PhysicalNames,
)


class SageMakerExecutionRole(Construct):
    """The role SageMaker Pipelines, and the processing and training jobs it starts, act with.

    Scoped to this stack's buckets (per prefix), key, model package group and job log groups;
    the scikit-learn image lives in an AWS-owned ECR account per region, hence the account
    wildcard. The model does not run with it: it has its own role (`serving.ModelExecutionRole`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: PhysicalNames,
        data_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        key: kms.IKey,
        metrics_namespace: str,
        labelled_folders: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            role_name=names.sagemaker_role,
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="SageMaker pipelines and jobs of the MLOps stack",
        )

        def sm_arn(resource: str) -> str:
            return f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:{resource}"

        job_logs = (
            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:/aws/sagemaker/*"
        )
        statements = [
            # Job inputs: the object versions of a run's manifest (read by Validate, by
            # VersionId), or the current ones of a run started without a manifest (listed);
            # the captured traffic of a window (downloaded by SageMaker with ListBucket +
            # GetObject) and the ground-truth labels the monitoring step reads; the manifests,
            # step outputs, the live record, the baseline and the drift reports in the artifacts
            # bucket; the drift check reads the earlier windows' reports back for the endpoint's
            # history page.
            access.objects(data_bucket, access.READ_VERSIONS, f"{INCOMING_PREFIX}*"),
            access.objects(
                data_bucket, access.READ, f"{CAPTURE_PREFIX}*", f"{GROUND_TRUTH_PREFIX}*"
            ),
            access.listing(data_bucket, INCOMING_PREFIX, CAPTURE_PREFIX, GROUND_TRUTH_PREFIX),
            # Validate quarantines the objects it rejects, as the arrival check does: a copy and
            # its reason under quarantine/, a delete marker on the incoming key (no version id:
            # the rejected version is kept). See pipelines/entrypoints/quarantine.py.
            access.objects(data_bucket, access.WRITE, f"{QUARANTINE_PREFIX}*"),
            access.objects(data_bucket, ("s3:DeleteObject",), f"{INCOMING_PREFIX}*"),
            access.objects(
                artifacts_bucket,
                access.READ,
                "manifests/*",
                "pipelines/*",
                "live/*",
                "monitoring/*",
            ),
            access.objects(
                artifacts_bucket,
                (*access.WRITE, "s3:AbortMultipartUpload"),
                "pipelines/*",
                "monitoring/*",
            ),
            # Evaluate and the drift check read live/<endpoint>.json, which is missing until a
            # model serves: without ListBucket S3 answers 403 instead of 404.
            access.listing(artifacts_bucket),
            # Read inputs, write outputs, and (CreateGrant) encrypt the jobs' volumes with it.
            access.key_use(
                key, ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
            ),
            iam.PolicyStatement(
                sid="EncryptJobVolumes",
                actions=["kms:CreateGrant"],
                resources=[key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
            iam.PolicyStatement(
                sid="RunPipelineJobs",
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=[
                    sm_arn("processing-job/pipelines-*"),
                    sm_arn("training-job/pipelines-*"),
                ],
            ),
            iam.PolicyStatement(
                sid="RegisterModels",
                actions=[
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:AddTags",
                ],
                resources=[
                    sm_arn(f"model-package-group/{names.model_group}"),
                    sm_arn(f"model-package/{names.model_group}/*"),
                ],
            ),
            iam.PolicyStatement(
                sid="PassOwnRole",
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            *image_pull_statements(stack),
            iam.PolicyStatement(
                sid="JobLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[job_logs],
            ),
            # The drift metrics of the monitoring step, and the jobs' own instance and
            # algorithm metrics, which SageMaker puts with the job's role
            # (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html).
            iam.PolicyStatement(
                sid="PublishMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "cloudwatch:namespace": [metrics_namespace, *JOB_METRIC_NAMESPACES]
                    }
                },
            ),
        ]
        # With retrain.labelled_traffic, Validate also reads the endpoint's capture and
        # ground-truth objects of a run's manifest, by VersionId (data_input.py).
        labelled = [f"{folder}*" for folder in labelled_folders]
        if labelled:
            statements.append(
                access.objects(data_bucket, ("s3:GetObjectVersion",), *labelled),
            )
        for statement in statements:
            self.role.add_to_policy(statement)

        acknowledge(
            self.role,
            "AwsSolutions-IAM5",
            "Wildcards are bounded: job names are generated by SageMaker Pipelines under the "
            "'pipelines-' prefix; model package versions are numbered by the registry; object "
            "grants are per key prefix; the framework image account varies by region; job log "
            "groups are SageMaker's own /aws/sagemaker/ groups; ecr:GetAuthorizationToken and "
            "cloudwatch:PutMetricData support no resource (the latter is bound to its "
            "namespaces by condition).",
            [
                *resources(
                    stack,
                    sm_arn("processing-job/pipelines-*"),
                    sm_arn("training-job/pipelines-*"),
                    sm_arn(f"model-package/{names.model_group}/*"),
                    SKLEARN_REPOSITORY_ARN.format(partition=stack.partition, region=stack.region),
                    job_logs,
                    data_bucket.arn_for_objects(f"{INCOMING_PREFIX}*"),
                    data_bucket.arn_for_objects(f"{CAPTURE_PREFIX}*"),
                    data_bucket.arn_for_objects(f"{QUARANTINE_PREFIX}*"),
                    data_bucket.arn_for_objects(f"{GROUND_TRUTH_PREFIX}*"),
                    artifacts_bucket.arn_for_objects("manifests/*"),
                    artifacts_bucket.arn_for_objects("pipelines/*"),
                    artifacts_bucket.arn_for_objects("live/*"),
                    artifacts_bucket.arn_for_objects("monitoring/*"),
                    *(data_bucket.arn_for_objects(pattern) for pattern in labelled),
                ),
                "Resource::*",
            ],
        )


# SageMaker's job metrics (instance utilization, and the algorithm metrics of training jobs).
JOB_METRIC_NAMESPACES = ("/aws/sagemaker/ProcessingJobs", "/aws/sagemaker/TrainingJobs")
SKLEARN_REPOSITORY_ARN = "arn:{partition}:ecr:{region}:*:repository/sagemaker-scikit-learn"


def image_pull_statements(stack: Stack) -> list[iam.PolicyStatement]:
    """Pulling the scikit-learn framework image (an AWS-owned account per region)."""
    return [
        iam.PolicyStatement(
            sid="PullFrameworkImages",
            actions=[
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            resources=[
                SKLEARN_REPOSITORY_ARN.format(partition=stack.partition, region=stack.region)
            ],
        ),
        iam.PolicyStatement(sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
    ]


class ModelRegistry(Construct):
    """The model package group every trained model is registered into for approval."""

    def __init__(
        self, scope: Construct, construct_id: str, *, group_name: str, description: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.group = sagemaker.CfnModelPackageGroup(
            self,
            "Group",
            model_package_group_name=group_name,
            model_package_group_description=description,
        )
        # The registry is the audit trail of every model ever trained.
        self.group.apply_removal_policy(RemovalPolicy.RETAIN)
        self.group_name = group_name
        stack = Stack.of(self)
        self.group_arn = (
            f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:"
            f"model-package-group/{group_name}"
        )


class SageMakerPipeline(Construct):
    """An `AWS::SageMaker::Pipeline` whose definition is built offline by `pipelines/`.

    The definition carries `${Name}` placeholders for everything account- or region-specific;
    they are substituted here with `Fn::Sub`, so the JSON itself stays byte-identical across
    accounts and the local runtime can resolve it the same way.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        description: str,
        definition_body: str,
        substitutions: Mapping[str, str],
        role: iam.IRole,
    ) -> None:
        super().__init__(scope, construct_id)
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            pipeline_description=description,
            role_arn=role.role_arn,
            pipeline_definition={
                "PipelineDefinitionBody": Fn.sub(definition_body, dict(substitutions)),
            },
        )
        self.pipeline_name = pipeline_name
        stack = Stack.of(self)
        self.pipeline_arn = (
            f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:"
            f"pipeline/{pipeline_name}"
        )
