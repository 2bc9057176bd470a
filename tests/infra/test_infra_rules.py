"""Every rule catches the real AWS event it exists for, and lets a near miss through."""

from __future__ import annotations

import json

import pytest
from moto.events.models import EventPattern

# rule name suffix -> (events it must match, events it must not match)
CASES = {
    "data-arrival": (
        ["s3_object_created.json"],
        ["s3_object_created_other_prefix.json", "s3_object_deleted.json"],
    ),
    "pipeline-status": (
        ["pipeline_execution_succeeded.json"],
        ["pipeline_execution_executing.json"],
    ),
    "model-approval": (
        [
            "model_package_approved.json",
            "model_package_rejected.json",
            "model_package_approval_updated.json",
        ],
        [
            "model_package_pending.json",
            "model_package_approved_other_group.json",
            # an edit of an approved package's description or metadata is no new decision
            "model_package_metadata_updated.json",
        ],
    ),
    "endpoint-status": (
        ["endpoint_in_service.json", "endpoint_update_rollback_failed.json"],
        ["endpoint_in_service_other.json", "endpoint_updating.json"],
    ),
    "drift-alarm": (
        [
            "alarm_drift_score_alarm.json",
            "alarm_drift_feature_alarm.json",
            "alarm_model_quality_alarm.json",
        ],
        [
            "alarm_drift_score_ok.json",
            "alarm_endpoint_5xx_alarm.json",
            # data quality notifies a person; training on broken inputs would not help
            "alarm_data_quality_alarm.json",
            # drift_retrain's own errors alarm: its name starts like a drift alarm's.
            "alarm_drift_retrain_errors_alarm.json",
        ],
    ),
}


def _pattern(dev, suffix: str) -> EventPattern:
    name = f"{dev.config.prefix}-{suffix}"
    for rule in dev.resources("AWS::Events::Rule").values():
        if rule["Properties"]["Name"] == name:
            return EventPattern.load(json.dumps(dev.resolved(rule["Properties"]["EventPattern"])))
    raise AssertionError(f"no rule {name}")


@pytest.mark.parametrize("suffix", sorted(CASES))
def test_rule_matches_its_sample_event_and_not_the_near_miss(dev, suffix, load_event):
    pattern = _pattern(dev, suffix)
    must, must_not = CASES[suffix]
    for name in must:
        assert pattern.matches_event(load_event(name)), f"{suffix} must match {name}"
    for name in must_not:
        assert not pattern.matches_event(load_event(name)), f"{suffix} must not match {name}"


def test_one_rule_per_arrow_plus_the_monitoring_schedule(dev):
    names = {r["Properties"]["Name"] for r in dev.resources("AWS::Events::Rule").values()}
    prefix = dev.config.prefix
    assert names == {f"{prefix}-{s}" for s in CASES} | {f"{prefix}-monitoring-schedule"}


def test_monitoring_schedule_goes_through_deploy_hourly(dev):
    """The schedule invokes deploy, which starts monitoring only while a model serves: a rule
    straight to the pipeline would run a job every hour before any endpoint exists."""
    rules = [
        r["Properties"]
        for r in dev.resources("AWS::Events::Rule").values()
        if r["Properties"]["Name"].endswith("-monitoring-schedule")
    ]
    (rule,) = rules
    assert rule["ScheduleExpression"] == "rate(1 hour)"
    (target,) = rule["Targets"]
    assert dev.resolved(target["Arn"]).endswith(f":function:{dev.config.prefix}-deploy")
    assert "DeadLetterConfig" in target


def test_lambda_targets_retry_and_dead_letter(dev):
    for rule in dev.resources("AWS::Events::Rule").values():
        for target in rule["Properties"]["Targets"]:
            assert "DeadLetterConfig" in target, rule["Properties"]["Name"]
            assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1


def test_prod_adds_the_periodic_retrain_schedule_and_email(prod):
    rules = {
        r["Properties"]["Name"]: r["Properties"]
        for r in prod.resources("AWS::Events::Rule").values()
    }
    retrain = rules[f"{prod.config.prefix}-retrain-schedule"]
    assert retrain["ScheduleExpression"] == "rate(7 days)"
    prod.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": prod.config.notification_email}
    )


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_dead_letter_queue_lets_its_rule_send(stage, request):
    """EventBridge dead-letters under the queue's policy, not the target role: a rule without
    a statement there loses the events it could not deliver."""
    synthesized = request.getfixturevalue(stage)
    allowed: dict[str, set[str]] = {}
    for policy in synthesized.resources("AWS::SQS::QueuePolicy").values():
        (queue,) = policy["Properties"]["Queues"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]:
            if (
                s["Effect"] == "Allow"
                and s["Principal"] == {"Service": "events.amazonaws.com"}
                and s["Action"] == "sqs:SendMessage"
            ):
                rule_arn = s["Condition"]["ArnEquals"]["aws:SourceArn"]
                allowed.setdefault(json.dumps(queue["Ref"]), set()).add(json.dumps(rule_arn))
    checked = 0
    for rule_id, rule in synthesized.resources("AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            queue_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
            rule_arn = json.dumps({"Fn::GetAtt": [rule_id, "Arn"]})
            assert rule_arn in allowed.get(json.dumps(queue_id), set()), rule["Properties"]["Name"]
            checked += 1
    assert checked == len(synthesized.resources("AWS::Events::Rule"))


def test_no_rule_needs_a_role_of_its_own(dev):
    """Every rule invokes a Lambda under the function's resource policy; a role for EventBridge
    would be a grant nothing uses."""
    roles = [
        k
        for k, r in dev.resources("AWS::IAM::Role").items()
        if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": "events.amazonaws.com"}
    ]
    assert roles == []
