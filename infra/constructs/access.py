"""Explicit IAM statements: the actions a caller makes, on exactly the resources it makes them on.

CDK's grant helpers add actions nobody here calls (`grant_read_write_data` adds Scan,
BatchGetItem, ConditionCheckItem, DescribeTable and stream reads; `grant_read` adds
`s3:GetBucket*` and `s3:List*`; `grant_delete` adds `s3:DeleteObject*`), so every role of the
stack is written with these builders instead. tests/infra/test_infra_least_privilege.py compares
each role with the calls its code makes, both ways.

S3 permissions per operation: https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations.html
(each operation's "Permissions" section): GetObject and HeadObject need s3:GetObject
(s3:GetObjectVersion with a VersionId), and s3:ListBucket on the bucket to get a 404 rather than
a 403 for a missing key; DeleteObject without a VersionId (a delete marker) needs s3:DeleteObject;
CopyObject needs s3:GetObject on the source and s3:PutObject on the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from infra.names import PhysicalNames

READ = ("s3:GetObject",)
READ_VERSIONS = ("s3:GetObject", "s3:GetObjectVersion")
WRITE = ("s3:PutObject",)
# What S3, SNS, SQS and DynamoDB ask of the caller's key permissions for objects, messages and
# items encrypted with the stack's key (SSE-KMS).
KEY_USE = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")


def objects(bucket: s3.IBucket, actions: Sequence[str], *patterns: str) -> iam.PolicyStatement:
    """Object actions on the keys matching `patterns` (e.g. `incoming/*`)."""
    return iam.PolicyStatement(
        actions=list(actions), resources=[bucket.arn_for_objects(p) for p in patterns]
    )


def listing(
    bucket: s3.IBucket, *prefixes: str, action: str = "s3:ListBucket"
) -> iam.PolicyStatement:
    """s3:ListBucket on the bucket; limited to key prefixes by `s3:prefix` when given.

    A caller that must tell a missing key (404) from a denied one (403) needs it without a
    prefix condition: the check S3 makes for that carries no s3:prefix. ListObjectVersions is
    `action="s3:ListBucketVersions"`, which takes the same condition.
    """
    conditions = {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}} if prefixes else None
    return iam.PolicyStatement(
        actions=[action], resources=[bucket.bucket_arn], conditions=conditions
    )


def items(table: dynamodb.ITable, actions: Sequence[str]) -> iam.PolicyStatement:
    """Item actions on the table (the stack's table has no index and no stream)."""
    return iam.PolicyStatement(
        actions=[f"dynamodb:{a}" for a in actions], resources=[table.table_arn]
    )


def key_use(key: kms.IKey, actions: Sequence[str] = KEY_USE) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=list(actions), resources=[key.key_arn])


def allow(grantee: iam.IGrantable, *statements: iam.PolicyStatement) -> None:
    for statement in statements:
        grantee.grant_principal.add_to_principal_policy(statement)


@dataclass(frozen=True)
class SageMakerArns:
    """ARNs of the SageMaker resources the functions act on, all named after the stack's."""

    base: str
    names: PhysicalNames

    @classmethod
    def of(cls, stack: Stack, names: PhysicalNames) -> SageMakerArns:
        return cls(f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}", names)

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
