"""data_arrival under moto: accepted objects start one run; duplicates and bursts coalesce."""

from __future__ import annotations

from lambda_fixtures import (
    ARTIFACTS_BUCKET,
    DATA_BUCKET,
    GOOD_CSV,
    PIPELINE,
    handler,
    log_records,
    s3_event,
    set_execution_status,
)

from functions.data_arrival.logic import route
from functions.shared.settings import DataArrivalSettings, load_settings
from functions.shared.training import read_guard


def _params(aws, execution_arn: str) -> dict[str, str]:
    described = aws.sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    assert described["PipelineExecutionStatus"]
    from moto.sagemaker.models import sagemaker_backends

    execution = (
        sagemaker_backends["123456789012"]["us-east-1"]
        .pipelines[PIPELINE]
        .pipeline_executions[execution_arn]
    )
    return {p["Name"]: p["Value"] for p in execution.pipeline_parameters}


def test_accepted_object_starts_one_run_with_manifest(aws, context, logs):
    version = aws.put("incoming/2026/11/churn.csv", GOOD_CSV)
    result = handler("data_arrival")(
        s3_event("incoming/2026/11/churn.csv", version, len(GOOD_CSV)), context
    )
    assert result["status"] == "started"
    [execution] = aws.executions()
    params = _params(aws, execution["PipelineExecutionArn"])
    assert params["InputDataUri"] == f"s3://{DATA_BUCKET}/incoming/"
    assert params["TriggerEventId"] == "evt-1"
    assert params["TriggerEventType"] == "s3:ObjectCreated"
    manifest_key = params["DataManifestUri"].removeprefix(f"s3://{ARTIFACTS_BUCKET}/")
    manifest = aws.json_object(ARTIFACTS_BUCKET, manifest_key)
    assert manifest["trigger"] == {"event_id": "evt-1", "event_type": "s3:ObjectCreated"}
    [obj] = manifest["objects"]
    assert obj["key"] == "incoming/2026/11/churn.csv"
    assert obj["version_id"] == version
    assert obj["size"] == len(GOOD_CSV)
    guard = read_guard(load_settings(DataArrivalSettings))
    assert guard is not None and guard.execution_arn == execution["PipelineExecutionArn"]
    records = log_records(logs)
    assert any(r["message"] == "training pipeline started" for r in records)
    assert all(r.get("correlation_id") == "evt-1" for r in records if "function_name" in r)


def test_an_arrival_run_reads_the_accepted_dataset_not_only_the_new_object(aws, context):
    first, _ = aws.arrive("incoming/first.csv", GOOD_CSV, "e1")
    _, answer = aws.arrive("incoming/bad.csv", b"customer,when\n1,yesterday\n", "bad")
    assert answer["status"] == "quarantined"
    aws.put("incoming/unchecked.csv", GOOD_CSV)  # uploaded, its check not (yet) done
    second, answer = aws.arrive("incoming/UPPER.CSV", GOOD_CSV, "e2")
    manifest = aws.manifest_of(answer["execution_arn"])
    assert [(o["key"], o["version_id"]) for o in manifest["objects"]] == [
        ("incoming/UPPER.CSV", second),
        ("incoming/first.csv", first),
    ]
    assert [o["key"] for o in manifest["arrivals"]] == ["incoming/UPPER.CSV"]


def test_same_event_three_times_starts_one_run(aws, context):
    version = aws.put("incoming/a.csv", GOOD_CSV)
    event = s3_event("incoming/a.csv", version, len(GOOD_CSV))
    results = [handler("data_arrival")(event, context) for _ in range(3)]
    assert [r["status"] for r in results] == ["started"] * 3  # the stored first result
    assert len(aws.executions()) == 1


def test_duplicate_after_run_ended_is_still_ignored(aws, context):
    """Idempotency, not the guard, stops the duplicate: the guard is gone by then."""
    version = aws.put("incoming/a.csv", GOOD_CSV)
    event = s3_event("incoming/a.csv", version, len(GOOD_CSV))
    handler("data_arrival")(event, context)
    settings = load_settings(DataArrivalSettings)
    from functions.shared.training import release_guard

    assert release_guard(settings, execution_arn=aws.executions()[0]["PipelineExecutionArn"])
    handler("data_arrival")(event, context)
    assert len(aws.executions()) == 1


def test_new_version_of_same_key_is_a_new_arrival(aws, context):
    first = aws.put("incoming/a.csv", GOOD_CSV)
    handler("data_arrival")(s3_event("incoming/a.csv", first, len(GOOD_CSV), "e1"), context)
    [execution] = aws.executions()
    set_execution_status(execution["PipelineExecutionArn"], "Executing")
    second = aws.put("incoming/a.csv", GOOD_CSV)
    result = handler("data_arrival")(
        s3_event("incoming/a.csv", second, len(GOOD_CSV), "e2"), context
    )
    assert result["status"] == "coalesced"


def test_thousand_arrivals_while_in_flight_make_one_follow_up(aws, context):
    from functions.pipeline_events.logic import on_execution_status
    from functions.shared.settings import PipelineEventsSettings

    version = aws.put("incoming/first.csv", GOOD_CSV)
    handler("data_arrival")(s3_event("incoming/first.csv", version, len(GOOD_CSV)), context)
    [running] = aws.executions()
    set_execution_status(running["PipelineExecutionArn"], "Executing")

    settings = load_settings(DataArrivalSettings)
    for i in range(1000):
        arrival = {
            "bucket": DATA_BUCKET,
            "key": f"incoming/burst/{i:04d}.csv",
            "version_id": f"v{i:04d}",
            "sequencer": "",
            "size": 100,
            "etag": f"etag{i}",
            "event_id": f"burst-{i}",
            "event_time": "2026-11-20T17:26:34Z",
        }
        assert route(arrival, settings)["status"] == "coalesced"
    assert len(aws.executions()) == 1

    set_execution_status(running["PipelineExecutionArn"], "Succeeded")
    events_settings = load_settings(PipelineEventsSettings)
    outcome = on_execution_status(
        execution_arn=running["PipelineExecutionArn"],
        status="Succeeded",
        event_id="status-evt",
        settings=events_settings,
    )
    assert outcome["follow_up_execution_arn"]
    executions = aws.executions()
    assert len(executions) == 2
    follow_up = outcome["follow_up_execution_arn"]
    params = _params(aws, follow_up)
    assert params["TriggerEventType"] == "coalesced"
    manifest = aws.json_object(
        ARTIFACTS_BUCKET, params["DataManifestUri"].removeprefix(f"s3://{ARTIFACTS_BUCKET}/")
    )
    arrivals = {o["version_id"] for o in manifest["arrivals"]}
    assert arrivals == {f"v{i:04d}" for i in range(1000)}
    # The burst's versions exist only in the state table here: the run reads what is current.
    assert [o["key"] for o in manifest["objects"]] == ["incoming/first.csv"]
    pending = aws.ddb.query(
        TableName="mlops-dev-state",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "pending#training"}},
    )
    assert pending["Count"] == 0
    # A redelivered status event must not start a second follow-up.
    on_execution_status(
        execution_arn=running["PipelineExecutionArn"],
        status="Succeeded",
        event_id="status-evt",
        settings=events_settings,
    )
    assert len(aws.executions()) == 2
