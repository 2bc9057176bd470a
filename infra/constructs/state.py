"""The state table: idempotency records, in-flight guard, coalesced arrivals, retrain counts."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.names import PhysicalNames


class StateTable(Construct):
    """One table keyed `pk`/`sk` (layout in docs/contracts.md); items expire by `expiration`."""

    def __init__(
        self, scope: Construct, construct_id: str, *, names: PhysicalNames, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=names.state_table,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="expiration",
            # Guards and counters are cheap to rebuild; a leftover table would block a redeploy.
            removal_policy=RemovalPolicy.DESTROY,
        )
