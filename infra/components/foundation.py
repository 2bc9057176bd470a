"""What every part of the loop is built on: storage, state, the topic, the functions' platform."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns

from infra.config import StackConfig
from infra.constructs.data_storage import DataStorage
from infra.constructs.functions import FunctionPlatform
from infra.contracts import Deployed
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
class Foundation:
    config: StackConfig
    storage: DataStorage
    table: dynamodb.ITable
    topic: sns.ITopic
    platform: FunctionPlatform

    @property
    def names(self) -> PhysicalNames:
        return self.config.names

    @property
    def deployed(self) -> Deployed:
        """The resources' names and ARNs, as the functions' settings take them."""
        return Deployed(
            data_bucket=self.storage.data_bucket.bucket_name,
            artifacts_bucket=self.storage.artifacts_bucket.bucket_name,
            state_table=self.table.table_name,
            topic_arn=self.topic.topic_arn,
            key_arn=self.storage.key.key_arn,
        )

    def publish(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn])
