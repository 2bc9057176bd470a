"""Alarms that drive the loop (drift, rollback) and the ones that call a human."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from infra.names import RULES_BY_KIND
from pipelines.metric_names import feature_drift_metric

REPO = Path(__file__).resolve().parents[2]


def _alarms(dev) -> dict[str, dict]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in dev.resources("AWS::CloudWatch::Alarm").values()
    }


def test_one_drift_alarm_per_feature_and_one_on_the_score(dev):
    alarms = _alarms(dev)
    prefix = dev.config.prefix
    for feature in dev.config.dataset.features:
        # Names of [A-Za-z0-9_.-] are their own tokens: these alarms keep the names they had.
        alarm = alarms[f"{prefix}-drift-{feature.name}"]
        assert alarm["MetricName"] == f"feature_baseline_drift_{feature.name}"
        assert alarm["Namespace"] == f"{prefix}/Drift"
        assert alarm["Dimensions"] == [{"Name": "EndpointName", "Value": f"{prefix}-endpoint"}]
        assert alarm["Threshold"] == (feature.drift_threshold or dev.config.drift.default_threshold)
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"
    score = alarms[f"{prefix}-drift-score"]
    assert score["MetricName"] == "drift_score"
    assert score["Threshold"] == dev.config.drift.score_threshold


def test_the_model_quality_alarm_fires_on_the_worse_side_of_the_configs_threshold(dev, prod):
    for stage in (dev, prod):
        prefix = stage.config.prefix
        alarm = _alarms(stage)[f"{prefix}-model-quality"]
        # roc_auc: higher is better, so the alarm is on the period's lowest value below it
        assert (alarm["MetricName"], alarm["Statistic"], alarm["ComparisonOperator"]) == (
            "model_quality_roc_auc",
            "Minimum",
            "LessThanThreshold",
        )
        assert alarm["Threshold"] == stage.config.metric.threshold
        assert alarm["Namespace"] == f"{prefix}/Drift"
        assert alarm["Dimensions"] == [{"Name": "EndpointName", "Value": f"{prefix}-endpoint"}]
        periods = stage.config.model_quality.evaluation_periods
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (periods, periods)
        # too few labelled rows publish nothing: missing data, never a breach
        assert alarm["TreatMissingData"] == "notBreaching"


def test_the_data_quality_alarm_exists_only_when_the_config_asks(dev, prod):
    assert f"{dev.config.prefix}-data-quality" not in _alarms(dev)
    alarm = _alarms(prod)[f"{prod.config.prefix}-data-quality"]
    assert (alarm["MetricName"], alarm["Threshold"]) == (
        "data_quality_score",
        prod.config.data_quality.alarm_threshold,
    )
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert f"{prod.config.prefix}-data-quality" not in prod.config.drift_alarm_names


def test_rollback_alarms_watch_the_endpoint_variant(dev):
    alarms = _alarms(dev)
    prefix = dev.config.prefix
    dims = [
        {"Name": "EndpointName", "Value": f"{prefix}-endpoint"},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    errors = alarms[f"{prefix}-endpoint-5xx"]
    assert (errors["MetricName"], errors["Statistic"], errors["Dimensions"]) == (
        "Invocation5XXErrors",
        "Sum",
        dims,
    )
    latency = alarms[f"{prefix}-endpoint-p99-latency"]
    assert (latency["MetricName"], latency["ExtendedStatistic"]) == ("ModelLatency", "p99")
    # ModelLatency is in microseconds.
    assert latency["Threshold"] == dev.config.deployment.latency_p99_ms * 1000


def test_every_function_and_the_failure_queue_have_an_alarm(dev):
    alarms = _alarms(dev)
    prefix = dev.config.prefix
    for name in ("data-arrival", "pipeline-events", "deploy", "drift-retrain"):
        assert alarms[f"{prefix}-{name}-errors"]["MetricName"] == "Errors"
    dlq = alarms[f"{prefix}-failed-events"]
    assert dlq["MetricName"] == "ApproximateNumberOfMessagesVisible"


def test_every_alarm_notifies_the_topic(dev):
    topic_id = next(iter(dev.resources("AWS::SNS::Topic")))
    for name, alarm in _alarms(dev).items():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], name


def test_topic_is_encrypted_and_dashboard_covers_the_loop(dev):
    dev.template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    (dashboard,) = dev.resources("AWS::CloudWatch::Dashboard").values()
    body = str(dashboard["Properties"]["DashboardBody"])
    for needle in (
        "Training pipeline runs",
        "Drift per feature",
        "Endpoint latency",
        "Lambda errors",
        "ExecutionFailed",
        "drift_score",
    ):
        assert needle in body, needle


def test_alarms_may_publish_to_the_topic_from_this_account_only(dev):
    """The topic policy lets CloudWatch publish for this account's alarms of this stack; without
    it every alarm action fails (SNS:Publish denied)."""
    topic_id = next(iter(dev.resources("AWS::SNS::Topic")))
    (policy,) = dev.resources("AWS::SNS::TopicPolicy").values()
    allows = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert len(allows) == 1
    (allow,) = allows
    assert allow["Action"] == "sns:Publish"
    assert allow["Resource"] == {"Ref": topic_id}
    alarms = f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{dev.config.prefix}-*"
    assert dev.resolved(allow["Condition"]) == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": alarms},
    }
    # Every alarm of the stack is covered by that pattern.
    for name in _alarms(dev):
        assert name.startswith(f"{dev.config.prefix}-"), name


def test_alarms_may_use_the_key_of_the_encrypted_topic(dev):
    """An encrypted topic needs the key too: CloudWatch gets Decrypt and GenerateDataKey* in the
    key policy, for this account's alarms and this topic only."""
    (key,) = dev.resources("AWS::KMS::Key").values()
    statements = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert len(statements) == 1
    (statement,) = statements
    assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    prefix = dev.config.prefix
    assert dev.resolved(statement["Condition"]) == {
        "StringEquals": {
            "aws:SourceAccount": "123456789012",
            "kms:EncryptionContext:aws:sns:topicArn": (
                f"arn:aws:sns:us-east-1:123456789012:{prefix}-notifications"
            ),
        },
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{prefix}-*"},
    }
    (topic,) = dev.resources("AWS::SNS::Topic").values()
    assert topic["Properties"]["TopicName"] == f"{prefix}-notifications"


USER_NAMES = ["mean radius", "revenue/visit", "âge"]


@pytest.fixture(scope="module")
def user_named(synthesize):
    """dev.json with features named as the data names them."""
    raw = json.loads((REPO / "config/dev.json").read_text())
    for feature, name in zip(raw["dataset"]["features"], USER_NAMES, strict=False):
        feature["name"] = name
    return synthesize("user-names", raw)


def test_alarms_of_features_named_as_users_name_them_are_valid_and_found(user_named):
    alarms = _alarms(user_named)
    config = user_named.config
    names = config.names
    for feature in USER_NAMES:
        name = names.drift_feature_alarm(feature)
        alarm = alarms[name]
        assert re.fullmatch(r"[A-Za-z0-9_.-]{1,255}", name), name
        assert RULES_BY_KIND["alarm"].problem(name) is None
        assert alarm["MetricName"] == feature_drift_metric(feature)
        assert re.fullmatch(r"[A-Za-z0-9_.-]{1,255}", alarm["MetricName"])
        assert repr(feature) in alarm["AlarmDescription"]
    # The drift rule and drift_retrain match exactly these alarms.
    rule = next(
        r["Properties"]
        for r in user_named.resources("AWS::Events::Rule").values()
        if r["Properties"].get("Name") == names.rule("drift-alarm")
    )
    matched = rule["EventPattern"]["detail"]["alarmName"]
    function = next(
        f["Properties"]
        for f in user_named.resources("AWS::Lambda::Function").values()
        if f["Properties"]["FunctionName"] == names.function("drift_retrain")
    )
    env = json.loads(function["Environment"]["Variables"]["DRIFT_ALARM_NAMES"])
    for feature in USER_NAMES:
        assert names.drift_feature_alarm(feature) in matched
        assert names.drift_feature_alarm(feature) in env
