"""A window too small to decide puts no drift metric; the local alarm evaluator then treats
the missing datapoint as CloudWatch does for TreatMissingData=notBreaching: not drift."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import boto3
import numpy as np
import pandas as pd
from moto import mock_aws

from emulator.alarms import AlarmEvaluator, MetricStore
from pipelines.drift import build_profile
from pipelines.steps.monitor import drift_report, metric_data

NAMESPACE, ALARM = "mlops-test/Drift", "drift-score"
DIMS = [{"Name": "EndpointName", "Value": "ep"}]


def _window_metrics(rows: int, when: dt.datetime) -> list[dict]:
    rng = np.random.default_rng(rows)
    profile = build_profile([pd.DataFrame({"x": rng.normal(0, 1, 2000)})], {"x": "numeric"})
    window = pd.DataFrame({"x": rng.normal(8, 1, rows)})  # far from the reference
    _, result = drift_report({}, profile, [window], thresholds={}, default_threshold=0.1)
    return [d for d in metric_data(result, "ep", "", when) if d["MetricName"] == "drift_score"]


def test_a_window_too_small_to_decide_leaves_the_drift_alarm_not_breaching() -> None:
    with mock_aws():
        cloud = SimpleNamespace(
            client=lambda name: boto3.client(name, region_name="us-east-1"),
            account="123456789012",
            region="us-east-1",
        )
        cloud.client("cloudwatch").put_metric_alarm(
            AlarmName=ALARM,
            Namespace=NAMESPACE,
            MetricName="drift_score",
            Dimensions=DIMS,
            Statistic="Maximum",
            Period=3600,
            EvaluationPeriods=1,
            Threshold=0.3,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
        )
        store = MetricStore()
        alarms = AlarmEvaluator(cloud, store, emit=lambda event: None)
        t0 = dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
        for datum in _window_metrics(200, t0):  # a real drift: the alarm fires
            store.put(NAMESPACE, datum)
        alarms.evaluate(t0)
        assert alarms.alarm_state(ALARM) == "ALARM"
        later = t0 + dt.timedelta(hours=1, minutes=5)
        assert _window_metrics(1, later) == []  # one request, just as far off: nothing put
        alarms.evaluate(later)
        assert alarms.alarm_state(ALARM) == "OK"  # missing data is not drift
