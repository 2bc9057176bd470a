"""Each physical name is checked against the rules of the service that owns it."""

from __future__ import annotations

import pytest

from infra.names import RULES_BY_KIND, PhysicalNames


def _messages(names: PhysicalNames, features: tuple[str, ...] = ()) -> list[str]:
    return [p.message for p in names.problems(list(features))]


def test_names_of_the_bundled_configs_pass():
    assert _messages(PhysicalNames("mlops-prod", "v2"), ("age", "region")) == []


@pytest.mark.parametrize(
    ("what", "limit"),
    [
        ("S3 bucket", 63),
        ("SageMaker model package group", 63),
        ("SageMaker endpoint", 46),
        ("Lambda function", 64),
        ("IAM role", 64),
        ("EventBridge rule", 64),
        ("SQS queue", 80),
    ],
)
def test_a_name_longer_than_its_service_allows_is_named_with_its_length(what, limit):
    prefix = "p" * 70
    messages = [m for m in _messages(PhysicalNames(prefix)) if m.startswith(what)]
    assert messages, f"no {what} problem"
    assert all(f"AWS allows 1 to {limit}" in m or f"3 to {limit}" in m for m in messages)
    assert all(prefix in m for m in messages)


@pytest.mark.parametrize(
    ("prefix", "what"),
    [
        ("My_Project-dev", "S3 bucket"),  # upper case and underscore
        ("xn--mlops-dev", "S3 bucket"),  # reserved for punycode
        ("mlops_dev", "SageMaker pipeline"),  # SageMaker names take no underscore
        ("mlops_dev", "SageMaker model package group"),
        ("mlops.dev", "SQS queue"),
        ("mlops.dev", "CloudWatch dashboard"),
    ],
)
def test_a_name_with_characters_its_service_refuses_is_named(prefix, what):
    assert any(m.startswith(f"{what} name ") for m in _messages(PhysicalNames(prefix)))


def test_bucket_rules_follow_s3():
    bucket = RULES_BY_KIND["bucket"]
    for good in ("mlops-dev-data-123456789012-us-east-1", "a.b-c", "abc"):
        assert bucket.problem(good) is None, good
    for bad in ("ab", "-abc", "abc-", "a..b", "sthree-x", "abc-s3alias", "abc--ol-s3", "Abc"):
        assert bucket.problem(bad), bad


def test_a_feature_whose_drift_alarm_is_another_alarm_is_blamed():
    names = PhysicalNames("mlops-dev")
    problems = names.problems(["age", "score", "retrain-errors"])
    assert {p.feature for p in problems} == {"score", "retrain-errors"}
    assert all("two alarms would be named" in p.message for p in problems)


def test_drift_alarms_are_exact_names_that_no_other_alarm_of_the_stack_has():
    names = PhysicalNames("mlops-dev")
    drift = names.drift_alarms(["age", "region"])
    assert drift == ["mlops-dev-drift-score", "mlops-dev-drift-age", "mlops-dev-drift-region"]
    others = [*names.rollback_alarms, *names.operations_alarms()]
    assert "mlops-dev-drift-retrain-errors" in others
    assert not set(drift) & set(others)
