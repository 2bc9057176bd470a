"""Evaluate the account's CloudWatch alarms over the metrics put to the runtime.

moto stores alarms and metric data but never evaluates; its GetMetricStatistics also ignores
ExtendedStatistics (p99) and matches a subset of dimensions, where CloudWatch matches the exact
dimension set (the drift metrics are put twice, with and without ModelVersion). So the front hands
every `PutMetricData` to a `MetricStore` as well, and the alarms (read from moto, whoever put them)
are evaluated here. Periods are the last `EvaluationPeriods` windows of `Period` seconds ending at
`now`; `TreatMissingData` as CloudWatch. A state change is written to moto (SetAlarmState), kept
in `history`, emitted as a `CloudWatch Alarm State Change` event and published to the alarm's
SNS actions in CloudWatch's message shape.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import threading
from collections.abc import Callable
from typing import Any

from emulator.aws_events import alarm_event

log = logging.getLogger(__name__)

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


class MetricStore:
    """Every datapoint put with PutMetricData, by namespace, name and exact dimension set."""

    def __init__(self) -> None:
        self._points: dict[tuple[str, str, frozenset], list[tuple[dt.datetime, float]]] = {}
        self._lock = threading.Lock()

    def put(self, namespace: str, datum: dict[str, Any]) -> None:
        dims = frozenset((d["Name"], str(d["Value"])) for d in datum.get("Dimensions", []))
        stamp = datum.get("Timestamp")
        if isinstance(stamp, int | float):
            stamp = dt.datetime.fromtimestamp(stamp, dt.UTC)
        elif isinstance(stamp, str):
            stamp = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        stamp = stamp or dt.datetime.now(dt.UTC)
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
        if "Value" in datum:
            values = [float(datum["Value"])]
        else:
            counts = datum.get("Counts") or [1] * len(datum.get("Values", []))
            values = [
                float(v)
                for v, n in zip(datum.get("Values", []), counts, strict=False)
                for _ in range(int(n))
            ]
        with self._lock:
            bucket = self._points.setdefault((namespace, datum["MetricName"], dims), [])
            bucket.extend((stamp, v) for v in values)

    def points(
        self,
        namespace: str,
        name: str,
        dimensions: list[dict[str, Any]],
        start: dt.datetime,
        end: dt.datetime,
    ) -> list[tuple[dt.datetime, float]]:
        dims = frozenset((d["Name"], str(d["Value"])) for d in dimensions)
        with self._lock:
            bucket = list(self._points.get((namespace, name, dims), []))
        return [(stamp, value) for stamp, value in bucket if start <= stamp < end]


class AlarmEvaluator:
    def __init__(
        self, cloud: Any, metrics: MetricStore, emit: Callable[[dict[str, Any]], None]
    ) -> None:
        self.cloud = cloud
        self.metrics = metrics
        self.emit = emit
        self.history: list[dict[str, Any]] = []
        # Checks CloudWatch's own publish against the topic's policy (`emulator.authorizer`).
        self.authorizer: Any = None
        self._states: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def alarms(self) -> dict[str, dict[str, Any]]:
        """Every metric alarm of the account, as DescribeAlarms gives it."""
        out = {}
        for page in self.cloud.client("cloudwatch").get_paginator("describe_alarms").paginate():
            for alarm in page.get("MetricAlarms", []):
                out[alarm["AlarmName"]] = alarm
        return out

    def alarm_state(self, name: str) -> str:
        with self._lock:
            if name in self._states:
                return self._states[name]["value"]
        alarms = self.cloud.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
        if not alarms:
            raise KeyError(f"no alarm named {name!r}")
        return str(alarms[0].get("StateValue", "INSUFFICIENT_DATA"))

    def evaluate(self, now: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Evaluate every alarm; returns (and emits) the state change events."""
        now = now or dt.datetime.now(dt.UTC)
        events = []
        alarms = self.alarms()
        with self._lock:
            for name, props in alarms.items():
                event = self._evaluate_one(name, props, now)
                if event is not None:
                    events.append((event, props))
        for event, props in events:
            self.emit(event)
            self._notify(event, props)
        return [event for event, _ in events]

    def _datapoints(self, props: dict[str, Any], start: dt.datetime, end: dt.datetime) -> list:
        return self.metrics.points(
            props["Namespace"], props["MetricName"], props.get("Dimensions", []), start, end
        )

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
        if name not in self._states:
            self._states[name] = {
                "value": str(props.get("StateValue", "INSUFFICIENT_DATA")),
                "reason": str(props.get("StateReason", "Unchecked: Initial alarm creation")),
                "timestamp": _fmt(now),
            }
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
        arn = props.get("AlarmArn") or (
            f"arn:aws:cloudwatch:{self.cloud.region}:{self.cloud.account}:alarm:{name}"
        )
        return alarm_event(
            arn=arn,
            name=name,
            state=state,
            previous={k: previous[k] for k in ("value", "reason", "timestamp")},
            configuration={
                "description": props.get("AlarmDescription", ""),
                "metrics": [{"id": "m1", "metricStat": metric_stat, "returnData": True}],
            },
        )

    def _refused(self, topic: str, alarm_arn: str) -> str | None:
        """Why the topic's policy refuses CloudWatch's publish for this alarm, or None. The
        service principal publishes with the alarm as aws:SourceArn and its account as
        aws:SourceAccount (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html)."""
        if self.authorizer is None:
            return None
        return self.authorizer.service_refusal(
            "cloudwatch.amazonaws.com", "sns:Publish", topic, source_arn=alarm_arn
        )

    def _notify(self, event: dict[str, Any], props: dict[str, Any]) -> None:
        """The alarm's SNS actions for its new state, in CloudWatch's message shape
        (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html)."""
        detail = event["detail"]
        new = detail["state"]["value"]
        actions = {
            "ALARM": props.get("AlarmActions", []),
            "OK": props.get("OKActions", []),
            "INSUFFICIENT_DATA": props.get("InsufficientDataActions", []),
        }[new]
        if not actions or props.get("ActionsEnabled") is False:
            return
        message = {
            "AlarmName": detail["alarmName"],
            "AlarmDescription": props.get("AlarmDescription"),
            "AWSAccountId": self.cloud.account,
            "NewStateValue": new,
            "NewStateReason": detail["state"]["reason"],
            "StateChangeTime": detail["state"]["timestamp"],
            "Region": self.cloud.region,
            "AlarmArn": event["resources"][0],
            "OldStateValue": detail["previousState"]["value"],
            "Trigger": {
                "MetricName": props.get("MetricName"),
                "Namespace": props.get("Namespace"),
                "Statistic": props.get("Statistic"),
                "ExtendedStatistic": props.get("ExtendedStatistic"),
                "Dimensions": [
                    {"name": d["Name"], "value": d["Value"]} for d in props.get("Dimensions", [])
                ],
                "Period": props.get("Period"),
                "EvaluationPeriods": props.get("EvaluationPeriods"),
                "ComparisonOperator": props.get("ComparisonOperator"),
                "Threshold": props.get("Threshold"),
            },
        }
        subject = f'{new}: "{detail["alarmName"]}" in {self.cloud.region}'
        sns = self.cloud.client("sns")
        for topic in actions:
            if ":sns:" not in topic:
                continue
            refused = self._refused(topic, event["resources"][0])
            if refused is not None:
                # CloudWatch records a failed action in the alarm's history and delivers nothing
                # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-actions.html).
                self.history.append(
                    {
                        "alarm": detail["alarmName"],
                        "time": detail["state"]["timestamp"],
                        "type": "Action",
                        "action": topic,
                        "summary": f'Failed to execute action {topic}. Received error: "{refused}"',
                    }
                )
                log.warning(
                    "alarm.action_failed",
                    extra={"alarm": detail["alarmName"], "topic": topic, "error": refused},
                )
                continue
            try:
                sns.publish(TopicArn=topic, Subject=subject[:100], Message=json.dumps(message))
            except Exception:  # noqa: BLE001 - a failed action is CloudWatch's to log, not ours
                log.exception("alarm %s could not notify %s", detail["alarmName"], topic)
