"""drift_retrain: which alarms retrain, and the in-flight, cooldown and daily-cap skips."""

from __future__ import annotations

import pytest
from lambda_fixtures import (
    DATA_BUCKET,
    GOOD_CSV,
    handler,
    load_event,
    log_records,
)

from functions.drift_retrain.logic import retrain
from functions.shared.settings import DriftRetrainSettings, load_settings
from functions.shared.training import Trigger, release_guard


def _skips(logs) -> list[str]:
    return [r["reason"] for r in log_records(logs) if r.get("message") == "retrain skipped"]


def test_drift_alarm_starts_a_retrain_with_manifest(aws, context):
    aws.arrive("incoming/a.csv", GOOD_CSV, "arrival")
    result = handler("drift_retrain")(load_event("alarm_drift_score_alarm.json"), context)
    assert result["status"] == "started"
    execution = result["execution_arn"]
    manifest = aws.manifest_of(execution)
    assert manifest["trigger"]["event_type"] == "drift:alarm"
    assert manifest["trigger"]["event_id"] == "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92"
    from moto.sagemaker.models import sagemaker_backends

    run = sagemaker_backends["123456789012"]["us-east-1"].pipelines["mlops-dev-training"]
    params = {p["Name"]: p["Value"] for p in run.pipeline_executions[execution].pipeline_parameters}
    assert params["InputDataUri"] == f"s3://{DATA_BUCKET}/incoming/"


def test_drift_and_scheduled_runs_read_the_current_accepted_objects(aws, context):
    """Not only what arrived since the last run: the dataset as it is when the run is decided,
    without what was quarantined, deleted, or never passed its arrival check."""
    accepted, _ = aws.arrive("incoming/a.csv", GOOD_CSV, "a")
    later, _ = aws.arrive("incoming/2026/b.csv", GOOD_CSV, "b")
    _, answer = aws.arrive("incoming/bad.csv", b"customer,when\n1,yesterday\n", "bad")
    assert answer["status"] == "quarantined"
    aws.arrive("incoming/deleted.csv", GOOD_CSV, "deleted")
    aws.s3.delete_object(Bucket=DATA_BUCKET, Key="incoming/deleted.csv")
    aws.put("incoming/unchecked.csv", GOOD_CSV)  # its arrival check never ended (crashed)
    expected = [("incoming/2026/b.csv", later), ("incoming/a.csv", accepted)]

    scheduled = handler("drift_retrain")(load_event("scheduled_event.json"), context)
    assert scheduled["status"] == "started"
    manifest = aws.manifest_of(scheduled["execution_arn"])
    assert manifest["trigger"]["event_type"] == "schedule"
    assert [(o["key"], o["version_id"]) for o in manifest["objects"]] == expected
    assert {o["event_id"] for o in manifest["objects"]} == {"a", "b"}
    release_guard(load_settings(DriftRetrainSettings), execution_arn=scheduled["execution_arn"])

    settings = load_settings(DriftRetrainSettings).model_copy(
        update={"retrain_cooldown_seconds": 0}
    )
    alarmed = retrain(Trigger("alarm-1", "drift:alarm"), settings, "drift-score")
    manifest = aws.manifest_of(alarmed["execution_arn"])
    assert manifest["trigger"] == {"event_id": "alarm-1", "event_type": "drift:alarm"}
    assert [(o["key"], o["version_id"]) for o in manifest["objects"]] == expected


def test_no_accepted_data_starts_no_retrain(aws, context, logs):
    aws.put("incoming/unchecked.csv", GOOD_CSV)
    result = handler("drift_retrain")(load_event("alarm_drift_score_alarm.json"), context)
    assert result == {"status": "skipped", "reason": "no_data"}
    assert aws.executions() == []
    state = aws.ddb.scan(TableName="mlops-dev-state")["Items"]
    assert not [i for i in state if i["pk"]["S"] == "guard"]  # no guard, no cooldown
    assert all(i["count"]["N"] == "0" for i in state if i["pk"]["S"] == "retrain-count")


def test_model_quality_alarm_starts_a_retrain_through_the_same_guards(aws, context):
    aws.arrive("incoming/a.csv", GOOD_CSV, "arrival")
    result = handler("drift_retrain")(load_event("alarm_model_quality_alarm.json"), context)
    assert result["status"] == "started"
    (run,) = [e for e in aws.executions() if e["PipelineExecutionArn"] == result["execution_arn"]]
    assert run["PipelineExecutionDescription"] == "drift:alarm retrain (mlops-dev-model-quality)"
    # a drift alarm right after is held by the same cooldown
    again = handler("drift_retrain")(load_event("alarm_drift_score_alarm.json"), context)
    assert again == {"status": "skipped", "reason": "cooldown"}


def test_feature_alarm_and_schedule_are_triggers(aws, context):
    aws.arrive("incoming/a.csv", GOOD_CSV, "arrival")
    settings = load_settings(DriftRetrainSettings).model_copy(
        update={"retrain_cooldown_seconds": 0}
    )
    first = retrain(Trigger("a", "drift:alarm"), settings, "x")
    release_guard(settings, execution_arn=first["execution_arn"])
    result = handler("drift_retrain")(load_event("scheduled_event.json"), context)
    # the module's settings keep the 6 h cooldown: the schedule tick is skipped for it
    assert result == {"status": "skipped", "reason": "cooldown"}
    result = handler("drift_retrain")(load_event("alarm_drift_feature_alarm.json"), context)
    assert result["reason"] == "cooldown"


@pytest.mark.parametrize(
    ("event_file", "reason"),
    [
        ("alarm_endpoint_5xx_alarm.json", "not_drift_alarm"),
        # data quality notifies a person and never retrains
        ("alarm_data_quality_alarm.json", "not_drift_alarm"),
        # Its name starts like a drift alarm's (`<prefix>-drift-`): only exact names retrain.
        ("alarm_drift_retrain_errors_alarm.json", "not_drift_alarm"),
        ("alarm_drift_score_ok.json", "not_in_alarm"),
        ("s3_object_created.json", "unsupported_event"),
    ],
)
def test_other_events_are_ignored(aws, context, logs, event_file, reason):
    result = handler("drift_retrain")(load_event(event_file), context)
    assert result == {"status": "ignored", "reason": reason}
    assert aws.executions() == []
    assert any(r.get("reason") == reason for r in log_records(logs))


def test_truncated_alarm_is_ignored(aws, context):
    event = load_event("alarm_drift_score_alarm.json")
    del event["detail"]["state"]
    assert handler("drift_retrain")(event, context)["reason"] == "malformed_event"


def test_skips_in_flight_cooldown_and_daily_cap(aws, context, logs):
    aws.arrive("incoming/a.csv", GOOD_CSV, "arrival")
    arrival_runs = len(aws.executions())
    settings = load_settings(DriftRetrainSettings).model_copy(
        update={"retrain_cooldown_seconds": 0, "retrain_daily_cap": 2}
    )
    first = retrain(Trigger("e1", "drift:alarm"), settings, "x")
    assert first["status"] == "started"
    from lambda_fixtures import set_execution_status

    set_execution_status(first["execution_arn"], "Executing")
    assert retrain(Trigger("e2", "drift:alarm"), settings, "x")["reason"] == "in_flight"
    release_guard(settings, execution_arn=first["execution_arn"])
    assert retrain(Trigger("e3", "drift:alarm"), settings, "x")["status"] == "started"
    release_guard(settings, execution_arn=aws.executions()[-1]["PipelineExecutionArn"])
    assert retrain(Trigger("e4", "drift:alarm"), settings, "x")["reason"] == "daily_cap"
    cooled = settings.model_copy(update={"retrain_cooldown_seconds": 3600})
    assert retrain(Trigger("e5", "drift:alarm"), cooled, "x")["reason"] == "cooldown"
    assert len(aws.executions()) == arrival_runs + 2
    assert _skips(logs) == ["in_flight", "daily_cap", "cooldown"]
    counter = aws.ddb.query(
        TableName="mlops-dev-state",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "retrain-count"}},
    )["Items"]
    assert counter[0]["count"]["N"] == "2"
