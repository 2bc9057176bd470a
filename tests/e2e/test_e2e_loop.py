"""The whole loop in the local runtime, as `mlops demo` runs it, then what follows from it:
a rollback when the canary breaches an alarm, and a retrain skipped by the cooldown. The loop's
retrain comes from ground truth: labelled traffic, then labels that shift while the features
do not, the model-quality alarm, drift_retrain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from endpoint_faults import report_5xx

from emulator.demo import Demo
from emulator.runtime import LocalRuntime, SynthesizedStack


@pytest.fixture(scope="module")
def looped(synthesize, tmp_path_factory):
    dev = synthesize("dev")
    stack = SynthesizedStack(dev.name, dev.raw, dev.outdir)
    scratch = tmp_path_factory.mktemp("loop")
    lines: list[str] = []
    with LocalRuntime(stack=stack, scratch_dir=scratch) as runtime:
        result = Demo(runtime, lines.append, report_dir=scratch / "reports").run()
        yield runtime, result, lines


def _results(runtime, target_suffix: str) -> list[dict]:
    return [
        e.result
        for e in runtime.bus.timeline
        if e.target and e.target.endswith(target_suffix) and isinstance(e.result, dict)
    ]


def test_every_stage_of_the_loop_is_reached(looped):
    _, result, lines = looped
    assert [s.name for s in result.stages] == [
        "upload",
        "train",
        "approve",
        "serve",
        "bad file",
        "concept",
        "alarm",
        "retrain",
        "drift",
    ]
    assert any("quarantined: header_mismatch" in line for line in lines)
    assert any("registered version 2" in line for line in lines)


def _reports(runtime) -> list[dict]:
    s3 = runtime.cloud.client("s3")
    keys = sorted(
        o["Key"]
        for o in s3.list_objects_v2(
            Bucket=runtime.artifacts_bucket, Prefix=f"monitoring/{runtime.endpoint_name}/"
        )["Contents"]
        if o["Key"].endswith(".json")
    )
    return [
        json.loads(s3.get_object(Bucket=runtime.artifacts_bucket, Key=k)["Body"].read())
        for k in keys
    ]


def test_capture_records_the_callers_inference_id_and_an_event_id(looped):
    runtime, _, _ = looped
    s3 = runtime.cloud.client("s3")
    listing = s3.list_objects_v2(
        Bucket=runtime.data_bucket, Prefix=f"capture/{runtime.endpoint_name}/"
    )["Contents"]
    events = [
        json.loads(line)["eventMetadata"]
        for o in listing
        for line in s3.get_object(Bucket=runtime.data_bucket, Key=o["Key"])["Body"]
        .read()
        .decode()
        .splitlines()
    ]
    labelled = [e for e in events if e.get("inferenceId", "").startswith("served-")]
    assert labelled and all(e["eventId"] for e in labelled)
    assert any("inferenceId" not in e for e in events)  # the drifted traffic passed none


def test_concept_drift_is_measured_on_every_label_and_alarms_model_quality(looped):
    runtime, _, _ = looped
    concept = next(r for r in _reports(runtime) if (r.get("model_quality") or {}).get("value"))
    quality = concept["model_quality"]
    # 200 rows labelled as they churn, then 600 whose labels flipped: all merged by inferenceId
    assert quality["n_labelled_rows"] == 800 and quality["n_unmatched_records"] == 0
    assert quality["n_duplicate_records"] == 0 and quality["n_wrong_count_records"] == 0
    assert quality["metric"] == "roc_auc" and quality["value"] < 0.7
    assert concept["prediction_drift"]["n_reference"] > 0
    assert concept["data_quality"]["n_rows"] == concept["drift"]["n_current"]
    alarm = f"{runtime.function_name('drift_retrain').removesuffix('-drift-retrain')}"
    alarm += "-model-quality"
    changes = [
        e
        for e in runtime.bus.timeline
        if e.target == runtime.function_name("drift_retrain")
        and runtime.bus.delivered.get(e.event_id, {}).get("detail", {}).get("alarmName") == alarm
    ]
    assert any(isinstance(e.result, dict) and e.result["status"] == "started" for e in changes)


def test_lineage_names_the_upload_that_trained_the_serving_model(looped):
    runtime, result, _ = looped
    assert "because  s3:ObjectCreated event" in result.lineage_text
    assert f"s3://{runtime.data_bucket}/incoming/churn-2026-11.csv version" in result.lineage_text
    assert "metric   roc_auc = " in result.lineage_text


def test_drift_report_is_a_standalone_page_on_disk(looped):
    _, result, _ = looped
    page = Path(result.report_path).read_text()
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "<svg" in page
    assert "<script src=" not in page and "<link" not in page  # no external assets


def test_the_monitoring_run_writes_the_endpoints_history_page(looped):
    runtime, result, _ = looped
    s3 = runtime.cloud.client("s3")
    window = result.report_uri.split("/", 3)[3].rsplit("/", 1)[0]
    for key in (f"monitoring/{runtime.endpoint_name}/history.html", f"{window}/history.html"):
        page = s3.get_object(Bucket=runtime.artifacts_bucket, Key=key)["Body"].read().decode()
        assert page.startswith("<!DOCTYPE html>") and "Drift score" in page
        assert "<script" not in page and "<link" not in page


def test_bad_file_never_reached_training(looped):
    runtime, _, _ = looped
    s3 = runtime.cloud.client("s3")
    current = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=runtime.data_bucket, Prefix="incoming/")["Contents"]
    ]
    assert "incoming/broken-export.csv" not in current


def test_a_second_drift_alarm_is_skipped_by_the_cooldown(looped, load_event):
    runtime, _, _ = looped
    event = load_event("alarm_drift_score_alarm.json")
    event["id"] = "7e0b8f2c-0000-4000-8000-000000000001"
    runtime.bus.put(event)
    assert runtime.bus.drain(timeout=30)
    last = _results(runtime, "drift-retrain")[-1]
    assert last["status"] == "skipped" and last["reason"] == "cooldown", last


def test_duplicate_deliveries_fail_nothing_and_raise_no_error_alarm(looped):
    """A duplicate that arrives while its first copy runs waits behind idempotency's in-progress
    record; Lambda's retry comes later and returns the stored result, as in AWS."""
    runtime, _, _ = looped
    failed = [
        (e.target, e.outcome)
        for e in runtime.bus.timeline
        if e.outcome in ("failed", "dead-lettered", "dropped")
    ]
    assert failed == [], failed
    errors = runtime.cloud.client("cloudwatch").describe_alarms(
        AlarmNames=[f"{runtime.function_name('data_arrival')}-errors"]
    )["MetricAlarms"]
    assert [a["StateValue"] for a in errors] != ["ALARM"]


def test_at_least_once_delivery_still_gives_one_deployment_per_approval(looped):
    """The loop runs with every event delivered twice, reordered within a window, as
    EventBridge may (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html)."""
    runtime, _, _ = looped
    deploy = runtime.function_name("deploy")
    entries = [e for e in runtime.bus.timeline if e.target == deploy]
    approvals = [
        e
        for e in entries
        if runtime.bus.delivered.get(e.event_id, {}).get("detail-type")
        == "SageMaker Model Package State Change"
    ]
    by_event: dict[str, int] = {}
    for e in approvals:
        by_event[e.event_id] = by_event.get(e.event_id, 0) + 1
    assert by_event and all(n >= 2 for n in by_event.values()), by_event
    requested: dict[str, int] = {}
    for e in entries:
        if isinstance(e.result, dict) and e.result.get("status") in (
            "created",
            "updating",
            "recreated",
        ):
            arn = e.result["model_package_arn"]
            requested[arn] = requested.get(arn, 0) + 1
    assert requested and all(n == 1 for n in requested.values()), requested


def test_canary_breaching_a_rollback_alarm_rolls_back_and_is_reported(looped):
    runtime, _, _ = looped
    sm = runtime.cloud.client("sagemaker")
    serving = sm.describe_endpoint(EndpointName=runtime.endpoint_name)["EndpointConfigName"]
    newest = sm.list_model_packages(
        ModelPackageGroupName=runtime.model_group,
        SortBy="CreationTime",
        SortOrder="Descending",
    )["ModelPackageSummaryList"][0]["ModelPackageArn"]
    errors_alarm = json.loads(runtime.function_env("deploy")["ROLLBACK_ALARM_NAMES"])[0]
    # The endpoint starts failing: 5XX errors in two consecutive minutes put the alarm in ALARM.
    report_5xx(runtime)
    assert runtime.alarms.alarm_state(errors_alarm) == "ALARM"
    sm.update_model_package(ModelPackageArn=newest, ModelApprovalStatus="Approved")
    assert runtime.bus.drain(timeout=30)
    assert runtime.endpoints.wait(runtime.endpoint_name, timeout=60) == "InService"
    assert runtime.bus.drain(timeout=30)
    assert sm.describe_endpoint(EndpointName=runtime.endpoint_name)["EndpointConfigName"] == serving
    verdict = _results(runtime, "deploy")[-1]
    assert verdict["status"] == "rolled_back", verdict


def test_the_retrain_is_judged_against_the_live_model_on_its_own_test_rows(looped):
    """Evaluate reads the serving model's artifact under the pipeline role (IAM enforced) and
    scores it on the retrain's test split, rather than trusting its registered metric."""
    runtime, _, _ = looped
    s3 = runtime.cloud.client("s3")
    sm = runtime.cloud.client("sagemaker")
    packages = sm.list_model_packages(ModelPackageGroupName=runtime.model_group)
    arns = sorted(
        (p["ModelPackageVersion"], p["ModelPackageArn"])
        for p in packages["ModelPackageSummaryList"]
    )
    meta = sm.describe_model_package(ModelPackageName=arns[1][1])["CustomerMetadataProperties"]
    execution = meta["PipelineExecutionArn"].rsplit("/", 1)[-1]
    evaluation = json.loads(
        s3.get_object(
            Bucket=runtime.artifacts_bucket, Key=f"pipelines/{execution}/evaluation/evaluation.json"
        )["Body"].read()
    )["objective"]
    assert "on this test split" in evaluation["live_value_source"], evaluation
    assert evaluation["live_value"] is not None and evaluation["passed"]
