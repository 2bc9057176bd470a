"""Notifications: the topic people subscribe to, the alarms on the loop's own failures, and
every alarm's state changes sent to the topic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.component import Component
from infra.constructs import alarms
from infra.names import PhysicalNames


class Notifications(Component):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: PhysicalNames,
        key: kms.IKey,
        email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._names = names
        self.topic = alarms.Notifications(
            self, "Notifications", names=names, key=key, email=email
        ).topic

    def watch(
        self,
        *,
        functions: Mapping[str, lambda_.IFunction],
        failure_queue: sqs.IQueue,
        alarms_: Sequence[cloudwatch.Alarm],
    ) -> None:
        """Alarm on the functions' errors and on dead letters; send these and `alarms_` here."""
        operations = alarms.OperationsAlarms(
            self,
            "OperationsAlarms",
            names=self._names,
            functions=functions,
            failure_queue=failure_queue,
        )
        alarms.notify([*alarms_, *operations.all], self.topic)
