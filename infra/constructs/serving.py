"""The serving side: the execution role the model runs with on its endpoint.

The deploy function creates every model with this role (`MODEL_ROLE_ARN`) and may pass no other.
It reads model artifacts, writes captured traffic, its logs and metrics, reads the rollback
alarms during a blue/green update, and nothing else: it cannot read the training data, write
artifacts or start jobs, as the pipeline's role can. What an endpoint's execution role needs:
https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html (CreateModel API: execution
role permissions).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs import access
from infra.constructs.nag import acknowledge, resources
from infra.constructs.training import SKLEARN_REPOSITORY_ARN, image_pull_statements
from infra.names import CAPTURE_PREFIX, PhysicalNames

# Where the training step's model.tar.gz lands: pipelines/<execution id>/model/<job>/output/.
MODEL_ARTIFACTS = "pipelines/*/model/*"
# The instance metrics of an endpoint (https://docs.aws.amazon.com/sagemaker/latest/dg/
# monitoring-cloudwatch.html); invocation metrics (AWS/SageMaker) are SageMaker's own.
ENDPOINT_METRIC_NAMESPACE = "/aws/sagemaker/Endpoints"


class ModelExecutionRole(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: PhysicalNames,
        data_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        key: kms.IKey,
        rollback_alarms: Sequence[cloudwatch.IAlarm],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            role_name=names.model_role,
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"The model serving on {names.endpoint}",
        )
        log_group = (
            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:"
            f"log-group:/aws/sagemaker/Endpoints/{names.endpoint}"
        )
        statements = [
            access.objects(artifacts_bucket, access.READ, MODEL_ARTIFACTS),
            # Data capture, written by SageMaker with this role and encrypted with the key.
            access.objects(data_bucket, access.WRITE, f"{CAPTURE_PREFIX}*"),
            access.key_use(key, ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")),
            iam.PolicyStatement(
                sid="EndpointLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[log_group, f"{log_group}:*"],
            ),
            iam.PolicyStatement(
                sid="EndpointMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": ENDPOINT_METRIC_NAMESPACE}},
            ),
            # Deployment guardrails read the auto-rollback alarms with the endpoint's execution
            # role: https://docs.aws.amazon.com/sagemaker/latest/dg/
            # deployment-guardrails-configuration.html ("Ensure that your IAM execution role has
            # permission to perform the cloudwatch:DescribeAlarms action on the auto-rollback
            # alarms you specify").
            iam.PolicyStatement(
                sid="ReadRollbackAlarms",
                actions=["cloudwatch:DescribeAlarms"],
                resources=[alarm.alarm_arn for alarm in rollback_alarms],
            ),
            *image_pull_statements(stack),
        ]
        for statement in statements:
            self.role.add_to_policy(statement)
        acknowledge(
            self.role,
            "AwsSolutions-IAM5",
            "Model artifacts are written by training jobs under pipelines/<execution id>/model/; "
            "capture keys are SageMaker's <endpoint>/<variant>/<hour>/ under capture/; log "
            "streams of the endpoint's own log group; the framework image account varies by "
            "region; ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource "
            "(the latter is bound to the endpoint namespace by condition).",
            [
                *resources(
                    stack,
                    artifacts_bucket.arn_for_objects(MODEL_ARTIFACTS),
                    data_bucket.arn_for_objects(f"{CAPTURE_PREFIX}*"),
                    f"{log_group}:*",
                    SKLEARN_REPOSITORY_ARN.format(partition=stack.partition, region=stack.region),
                ),
                "Resource::*",
            ],
        )
