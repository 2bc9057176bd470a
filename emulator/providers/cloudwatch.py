"""CloudWatch: every `PutMetricData` also feeds the alarm evaluator's metric store (moto keeps the
data but evaluates no alarm and aggregates percentiles and dimension sets its own way)."""

from __future__ import annotations

from emulator.alarms import MetricStore
from emulator.front import Front, Reply
from emulator.requests import AwsRequest


class CloudWatchProvider:
    def __init__(self, metrics: MetricStore) -> None:
        self.metrics = metrics

    def install(self, front: Front) -> None:
        front.observe("cloudwatch", "PutMetricData", self._metric_data)

    def _metric_data(self, request: AwsRequest, reply: Reply) -> None:
        namespace = request.params["Namespace"]
        for datum in request.params.get("MetricData", []):
            self.metrics.put(namespace, datum)
