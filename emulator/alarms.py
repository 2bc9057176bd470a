"""Evaluate the deployed CloudWatch alarms over the metrics put to moto.

moto stores alarms and metric data but never evaluates; its GetMetricStatistics also ignores
ExtendedStatistics (p99) and matches a subset of dimensions, where CloudWatch matches the exact
dimension set (the drift metrics are put twice, with and without ModelVersion). So the datapoints
are read from moto's in-process CloudWatch backend and aggregated here. Periods are the last
`EvaluationPeriods` windows of `Period` seconds ending at `now`; `TreatMissingData` as CloudWatch.
A state change is written to moto (SetAlarmState), kept in `history`, and emitted as a
`CloudWatch Alarm State Change` event with the AWS shape.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from collections.abc import Callable
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends

from emulator.aws_events import aws_event

_COMPARE: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", lambda v, t: v >= t),
    "GreaterThanThreshold": ("greater than", lambda v, t: v > t),
    "LessThanThreshold": ("less than", lambda v, t: v < t),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda v, t: v <= t),
}


def _statistic(values: list[float], stat: str) -> float:
    if stat == "Maximum":
        return max(values)
    if stat == "Minimum":
        return min(values)
    if stat == "Sum":
        return sum(values)
    if stat == "Average":
        return sum(values) / len(values)
    if stat == "SampleCount":
        return float(len(values))
    if stat.startswith("p"):
        ordered = sorted(values)
        rank = max(1, math.ceil(float(stat[1:]) / 100 * len(ordered)))
        return ordered[rank - 1]
    raise ValueError(f"statistic {stat} is not supported by the local alarm evaluator")


def _fmt(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


class AlarmEvaluator:
    def __init__(
        self, cloud: Any, alarms: dict[str, dict[str, Any]], emit: Callable[[dict[str, Any]], None]
    ) -> None:
        self.cloud = cloud
        self.alarms = alarms  # name -> resolved template properties (Deployment.alarms)
        self.emit = emit
        self.history: list[dict[str, Any]] = []
        self._states: dict[str, dict[str, str]] = {
            name: {
                "value": "INSUFFICIENT_DATA",
                "reason": "Unchecked: Initial alarm creation",
                "timestamp": _fmt(dt.datetime.now(dt.UTC)),
            }
            for name in alarms
        }
        self._lock = threading.Lock()

    def alarm_state(self, name: str) -> str:
        with self._lock:
            if name not in self._states:
                raise KeyError(f"no deployed alarm named {name!r}")
            return self._states[name]["value"]

    def evaluate(self, now: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Evaluate every alarm; returns (and emits) the state change events."""
        now = now or dt.datetime.now(dt.UTC)
        events = []
        with self._lock:
            for name, props in self.alarms.items():
                event = self._evaluate_one(name, props, now)
                if event is not None:
                    events.append(event)
        for event in events:
            self.emit(event)
        return events

    def _datapoints(self, props: dict[str, Any], start: dt.datetime, end: dt.datetime) -> list:
        backend = cloudwatch_backends[self.cloud.account][self.cloud.region]
        wanted = {(d["Name"], str(d["Value"])) for d in props.get("Dimensions", [])}
        out = []
        for datum in backend.get_all_metrics():
            if datum.namespace != props["Namespace"] or datum.name != props["MetricName"]:
                continue
            if {(d.name, str(d.value)) for d in datum.dimensions} != wanted:
                continue
            stamp = datum.timestamp
            stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
            if start <= stamp < end and hasattr(datum, "value"):
                out.append((stamp, float(datum.value)))
        return out

    def _evaluate_one(
        self, name: str, props: dict[str, Any], now: dt.datetime
    ) -> dict[str, Any] | None:
        if "MetricName" not in props:
            raise ValueError(f"alarm {name}: metric math alarms are not supported locally")
        period = int(props["Period"])
        periods = int(props["EvaluationPeriods"])
        to_alarm = int(props.get("DatapointsToAlarm", periods))
        stat = props.get("ExtendedStatistic") or props["Statistic"]
        threshold = float(props["Threshold"])
        words, compare = _COMPARE[props["ComparisonOperator"]]
        missing = props.get("TreatMissingData", "missing")
        # Windows end at `now` (+1 s so a datapoint stamped `now` counts), newest first.
        end = now + dt.timedelta(seconds=1)
        start = end - dt.timedelta(seconds=period * periods)
        points = self._datapoints(props, start, end)
        windows: list[tuple[dt.datetime, float | None]] = []
        for i in range(periods):
            w_end = end - dt.timedelta(seconds=period * i)
            w_start = w_end - dt.timedelta(seconds=period)
            values = [v for stamp, v in points if w_start <= stamp < w_end]
            windows.append((w_start, _statistic(values, stat) if values else None))
        present = [(s, v) for s, v in windows if v is not None]
        breaching = sum(1 for _, v in present if compare(v, threshold))
        if missing == "breaching":
            breaching += periods - len(present)
        current = self._states[name]["value"]
        if not present and missing in ("missing", "ignore"):
            new = current if missing == "ignore" else "INSUFFICIENT_DATA"
        else:
            new = "ALARM" if breaching >= to_alarm else "OK"
        if new == current:
            return None
        recent = [v for _, v in present]
        crossed = "was" if new == "ALARM" else "was not"
        listing = ", ".join(f"{v} ({s.strftime('%d/%m/%y %H:%M:%S')})" for s, v in present)
        reason = (
            f"Threshold Crossed: {breaching} out of the last {periods} datapoints [{listing}] "
            f"{crossed} {words} the threshold ({threshold}) (minimum {to_alarm} datapoint"
            f"{'s' if to_alarm > 1 else ''} for OK -> ALARM transition)."
            if present
            else f"No datapoints in the last {periods} periods (missing data: {missing})."
        )
        reason_data = json.dumps(
            {
                "version": "1.0",
                "queryDate": _fmt(now),
                "startDate": _fmt(start),
                "statistic": stat,
                "period": period,
                "recentDatapoints": recent,
                "threshold": threshold,
                "evaluatedDatapoints": [{"timestamp": _fmt(s), "value": v} for s, v in present],
            }
        )
        self.cloud.client("cloudwatch").set_alarm_state(
            AlarmName=name, StateValue=new, StateReason=reason[:1023], StateReasonData=reason_data
        )
        previous = self._states[name]
        state = {"value": new, "reason": reason, "reasonData": reason_data, "timestamp": _fmt(now)}
        self._states[name] = state
        self.history.append(
            {"alarm": name, "time": _fmt(now), "from": current, "to": new, "reason": reason}
        )
        dimensions = {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}
        metric_stat = {
            "metric": {
                "namespace": props["Namespace"],
                "name": props["MetricName"],
                "dimensions": dimensions,
            },
            "period": period,
            "stat": stat,
        }
        arn = f"arn:aws:cloudwatch:{self.cloud.region}:{self.cloud.account}:alarm:{name}"
        return aws_event(
            source="aws.cloudwatch",
            detail_type="CloudWatch Alarm State Change",
            account=self.cloud.account,
            region=self.cloud.region,
            resources=[arn],
            detail={
                "alarmName": name,
                "state": state,
                "previousState": {k: previous[k] for k in ("value", "reason", "timestamp")},
                "configuration": {
                    "description": props.get("AlarmDescription", ""),
                    "metrics": [{"id": "m1", "metricStat": metric_stat, "returnData": True}],
                },
            },
        )
