"""Every alarm of the template, in ALARM, against every rule: only drift alarms retrain.

The events are built from each alarm's own properties in the shape CloudWatch sends
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html),
so an alarm added later is checked without anyone writing a sample event for it.
"""

from __future__ import annotations

import json

import pytest
from moto.events.models import EventPattern


def _alarm_event(stage, alarm: dict) -> dict:
    props = stage.resolved(alarm["Properties"])
    name = props["AlarmName"]
    stat = props.get("Statistic") or props.get("ExtendedStatistic")
    return {
        "version": "0",
        "id": f"alarm-{name}",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": "2026-11-21T09:00:32Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"],
        "detail": {
            "alarmName": name,
            "state": {"value": "ALARM", "reason": "Threshold Crossed"},
            "previousState": {"value": "OK", "reason": "Threshold Crossed"},
            "configuration": {
                "description": props.get("AlarmDescription", ""),
                "metrics": [
                    {
                        "id": "m1",
                        "metricStat": {
                            "metric": {
                                "namespace": props["Namespace"],
                                "name": props["MetricName"],
                                "dimensions": {
                                    d["Name"]: d["Value"] for d in props.get("Dimensions", [])
                                },
                            },
                            "period": props["Period"],
                            "stat": stat,
                        },
                        "returnData": True,
                    }
                ],
            },
        },
    }


def _rules(stage) -> dict[str, EventPattern]:
    return {
        rule["Properties"]["Name"]: EventPattern.load(
            json.dumps(stage.resolved(rule["Properties"]["EventPattern"]))
        )
        for rule in stage.resources("AWS::Events::Rule").values()
        if "EventPattern" in rule["Properties"]
    }


@pytest.mark.parametrize("stage_name", ["dev", "prod", "widest"])
def test_only_drift_alarms_match_the_drift_rule_and_no_alarm_matches_another(request, stage_name):
    stage = request.getfixturevalue(stage_name)
    drift_rule = f"{stage.config.prefix}-drift-alarm"
    drift_namespace = f"{stage.config.prefix}/Drift"  # docs/contracts.md
    alarms = stage.resources("AWS::CloudWatch::Alarm").values()
    # Told apart by what they watch, not by their names: drift and model-quality metrics live
    # in their namespace (docs/contracts.md); the data-quality alarm there only notifies.
    drift = {
        a["Properties"]["AlarmName"]
        for a in alarms
        if a["Properties"]["Namespace"] == drift_namespace
        and not a["Properties"]["MetricName"].startswith("data_quality")
    }
    # drift_score, one per feature, and model quality
    assert len(drift) == len(stage.config.dataset.features) + 2
    matched = {
        (rule, alarm["Properties"]["AlarmName"])
        for alarm in alarms
        for rule, pattern in _rules(stage).items()
        if pattern.matches_event(_alarm_event(stage, alarm))
    }
    assert matched == {(drift_rule, name) for name in drift}


@pytest.mark.parametrize("stage_name", ["dev", "prod", "widest"])
def test_drift_rule_and_function_name_the_same_alarms_within_eventbridge_size(request, stage_name):
    from infra.quotas import EVENT_PATTERN_MAX_CHARS, drift_alarm_pattern, event_pattern_size

    stage = request.getfixturevalue(stage_name)
    (rule,) = (
        r["Properties"]
        for r in stage.resources("AWS::Events::Rule").values()
        if r["Properties"]["Name"] == stage.config.names.rule("drift-alarm")
    )
    pattern = stage.resolved(rule["EventPattern"])
    assert pattern == drift_alarm_pattern(stage.config.drift_alarm_names)
    # Measured on the template itself, not on the config's estimate of it.
    assert event_pattern_size(pattern) <= EVENT_PATTERN_MAX_CHARS
    (function,) = (
        f["Properties"]
        for f in stage.resources("AWS::Lambda::Function").values()
        if f["Properties"]["FunctionName"] == stage.config.names.function("drift_retrain")
    )
    names = json.loads(function["Environment"]["Variables"]["DRIFT_ALARM_NAMES"])
    assert names == pattern["detail"]["alarmName"]
