"""Where data and artifacts live: data and artifacts buckets, their key and the log bucket."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.names import CAPTURE_PREFIX, QUARANTINE_PREFIX, PhysicalNames


class DataStorage(Construct):
    """Versioned, KMS-encrypted, SSL-only buckets with server access logs and no public access.

    The data bucket sends its events to EventBridge; that is set on the L1 resource because the
    L2 `event_bridge_enabled` flag deploys a custom-resource Lambda to do the same thing.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: PhysicalNames,
        quarantine_expiry_days: int,
        capture_expiry_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Data, models and the key that decrypts them outlive the stack: a `cdk destroy` must
        # never take the training history or the lineage with it. Their names take the config's
        # retained_name_suffix, so that a new deployment does not collide with them.
        removal_policy = RemovalPolicy.RETAIN

        self.key = kms.Key(
            self,
            "Key",
            alias=names.key_alias,
            description=f"{names.prefix}: data, artifacts, captured traffic and state",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self._allow_services_to_use_key()

        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            bucket_name=names.bucket("access-logs", stack.account, stack.region),
            # S3 server access logging can only deliver to SSE-S3 buckets, not SSE-KMS.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(365))],
            removal_policy=removal_policy,
        )
        Validations.of(self.log_bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This is the access-log bucket itself; logging it into itself would loop.",
            )
        )

        self.data_bucket = self._bucket(
            "Data",
            bucket_name=names.bucket("data", stack.account, stack.region),
            log_prefix="data/",
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-quarantine",
                    prefix=QUARANTINE_PREFIX,
                    expiration=Duration.days(quarantine_expiry_days),
                    noncurrent_version_expiration=Duration.days(quarantine_expiry_days),
                ),
                s3.LifecycleRule(
                    id="expire-capture",
                    prefix=CAPTURE_PREFIX,
                    expiration=Duration.days(capture_expiry_days),
                    noncurrent_version_expiration=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="abort-multipart", abort_incomplete_multipart_upload_after=Duration.days(7)
                ),
            ],
        )
        cfn_data = self.data_bucket.node.default_child
        cfn_data.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )

        self.artifacts_bucket = self._bucket(
            "Artifacts",
            bucket_name=names.bucket("artifacts", stack.account, stack.region),
            log_prefix="artifacts/",
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-old-versions", noncurrent_version_expiration=Duration.days(90)
                ),
                s3.LifecycleRule(
                    id="abort-multipart", abort_incomplete_multipart_upload_after=Duration.days(7)
                ),
            ],
        )

    def _bucket(
        self,
        construct_id: str,
        *,
        bucket_name: str,
        log_prefix: str,
        removal_policy: RemovalPolicy,
        lifecycle_rules: list[s3.LifecycleRule],
    ) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix=log_prefix,
            lifecycle_rules=lifecycle_rules,
            removal_policy=removal_policy,
        )

    def _allow_services_to_use_key(self) -> None:
        """Services that write encrypted data on the stack's behalf: Lambda log groups and
        EventBridge dead-lettering into the failure queue (CloudWatch alarms publishing to the
        topic: see alarms.Notifications)."""
        stack = Stack.of(self)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="LambdaLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                        )
                    }
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventsDeadLetters",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
