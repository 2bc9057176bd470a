"""CloudWatch: every `PutMetricData` also feeds the alarm evaluator's metric store (moto keeps the
data but evaluates no alarm and aggregates percentiles and dimension sets its own way), and a new
alarm starts in INSUFFICIENT_DATA, as CloudWatch starts it (moto starts it in OK)."""

from __future__ import annotations

from typing import Any

from emulator.alarms import MetricStore
from emulator.front import Front, Reply
from emulator.requests import AwsRequest

INITIAL_REASON = "Unchecked: Initial alarm creation"


class CloudWatchProvider:
    def __init__(self, cloud: Any, metrics: MetricStore) -> None:
        self.cloud = cloud
        self.metrics = metrics

    def install(self, front: Front) -> None:
        front.observe("cloudwatch", "PutMetricData", self._metric_data)
        front.observe("cloudwatch", "PutMetricAlarm", self._alarm_put)

    def _metric_data(self, request: AwsRequest, reply: Reply) -> None:
        namespace = request.params["Namespace"]
        for datum in request.params.get("MetricData", []):
            self.metrics.put(namespace, datum)

    def _alarm_put(self, request: AwsRequest, reply: Reply) -> None:
        cloudwatch = self.cloud.moto_client("cloudwatch")
        name = request.params["AlarmName"]
        (alarm,) = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        if (
            alarm.get("StateReason") == INITIAL_REASON
            and alarm.get("StateValue") != "INSUFFICIENT_DATA"
        ):
            cloudwatch.set_alarm_state(
                AlarmName=name, StateValue="INSUFFICIENT_DATA", StateReason=INITIAL_REASON
            )
