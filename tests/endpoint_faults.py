"""An endpoint that starts failing, as its CloudWatch metrics show it (shared by the emulator
and e2e tests): 5XX errors in two consecutive minutes put the rollback alarm in ALARM."""

from __future__ import annotations

import datetime as dt
from typing import Any


def report_5xx(runtime: Any, errors_per_minute: float = 50.0) -> None:
    now = dt.datetime.now(dt.UTC)
    runtime.cloud.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocation5XXErrors",
                "Value": errors_per_minute,
                "Timestamp": t,
                "Dimensions": [
                    {"Name": "EndpointName", "Value": runtime.endpoint_name},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
            }
            for t in (now - dt.timedelta(minutes=1), now)
        ],
    )
    runtime.alarms.evaluate()
