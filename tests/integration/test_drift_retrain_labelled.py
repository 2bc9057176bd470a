"""drift_retrain with retrain.labelled_traffic: on, the manifest names the current versions of
the endpoint's capture and ground-truth objects of the look-back; off (dev.json), the manifest
is what it always was."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from lambda_fixtures import CONFIG, DATA_BUCKET, ENDPOINT, GOOD_CSV, handler, load_event

from functions.drift_retrain.traffic import labelled_traffic
from infra.contracts import settings_in_account
from pipelines.steps.capture import parse_time

CAPTURE = f"capture/{ENDPOINT}"
LABELS = f"ground-truth/{ENDPOINT}"


def _hour(ago: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) - ago).strftime("%Y/%m/%d/%H")


def _settings_on():
    """drift_retrain's settings, as the stack gives them with the switch on (14 days)."""
    config = CONFIG.model_copy(
        update={
            "retrain": CONFIG.retrain.model_copy(
                update={
                    "labelled_traffic": CONFIG.retrain.labelled_traffic.model_copy(
                        update={"enabled": True, "days": 14}
                    )
                }
            )
        }
    )
    return settings_in_account(config, account="123456789012", region="us-east-1")["drift_retrain"]


@pytest.fixture
def switched_on(monkeypatch):
    """The environment the stack gives drift_retrain with the switch on (14 days)."""
    for name, value in _settings_on().to_env().items():
        if name.startswith("LABELLED_"):
            monkeypatch.setenv(name, value)


def _retrain(aws, context) -> dict:
    result = handler("drift_retrain")(load_event("alarm_model_quality_alarm.json"), context)
    assert result["status"] == "started", result
    return aws.manifest_of(result["execution_arn"])


def test_a_quality_retrain_names_the_capture_and_label_versions_of_the_look_back(
    aws, context, switched_on
):
    now, day_ago, days_13, days_15 = (_hour(timedelta(days=d)) for d in (0, 1, 13, 15))
    accepted, _ = aws.arrive("incoming/a.csv", GOOD_CSV, "arrival")
    first = aws.put(f"{CAPTURE}/AllTraffic/{now}/a.jsonl", b"{}\n")
    overwritten = aws.put(f"{CAPTURE}/AllTraffic/{now}/a.jsonl", b"{}\n{}\n")
    other = aws.put(f"{CAPTURE}/Canary/{days_13}/b.jsonl", b"{}\n")
    aws.put(f"{CAPTURE}/AllTraffic/{days_15}/old.jsonl", b"{}\n")  # before the look-back
    aws.put(f"{CAPTURE}/AllTraffic/{now}/gone.jsonl", b"{}\n")
    aws.s3.delete_object(Bucket=DATA_BUCKET, Key=f"{CAPTURE}/AllTraffic/{now}/gone.jsonl")
    aws.put(f"{CAPTURE}/notes.txt", b"not capture")
    aws.put(f"capture/other-endpoint/AllTraffic/{now}/c.jsonl", b"{}\n")
    label = aws.put(f"{LABELS}/{now}/labels.jsonl", b"{}\n")
    earlier = aws.put(f"{LABELS}/{day_ago}/earlier.jsonl", b"{}\n")
    aws.put(f"{LABELS}/{days_15}/old.jsonl", b"{}\n")

    manifest = _retrain(aws, context)
    assert [(o["key"], o["version_id"]) for o in manifest["objects"]] == [
        ("incoming/a.csv", accepted)
    ]
    traffic = manifest["labelled_traffic"]
    assert [(o["key"], o["version_id"]) for o in traffic["capture"]] == [
        (f"{CAPTURE}/AllTraffic/{now}/a.jsonl", overwritten),
        (f"{CAPTURE}/Canary/{days_13}/b.jsonl", other),
    ]
    assert overwritten != first
    assert sorted((o["key"], o["version_id"]) for o in traffic["ground_truth"]) == sorted(
        [(f"{LABELS}/{now}/labels.jsonl", label), (f"{LABELS}/{day_ago}/earlier.jsonl", earlier)]
    )
    assert all(o["bucket"] == DATA_BUCKET and o["last_modified"] for o in traffic["capture"])
    since = datetime.fromisoformat(traffic["since"].replace("Z", "+00:00"))
    until = datetime.fromisoformat(traffic["until"].replace("Z", "+00:00"))
    assert until - since == timedelta(days=14)
    assert abs(until.timestamp() - time.time()) < 60


def test_the_look_back_ends_at_the_decision_not_at_its_second(aws):
    # a request captured in the decision's own second (SageMaker's inferenceTime has whole
    # seconds) is before the decision: the window's end keeps its milliseconds, so the request
    # is inside [since, until) (the end cut to the second left it out)
    decided = datetime(2026, 3, 2, 9, 30, 5, 456_000, tzinfo=UTC)
    traffic = labelled_traffic(_settings_on(), decided.timestamp())
    since, until = (parse_time(traffic[k]) for k in ("since", "until"))
    assert until == decided and until - since == timedelta(days=14)
    captured = parse_time("2026-03-02T09:30:05Z")
    assert since <= captured < until


def test_without_labels_no_capture_object_is_named(aws, context, switched_on):
    aws.arrive("incoming/a.csv", GOOD_CSV, "arrival")
    aws.put(f"{CAPTURE}/AllTraffic/{_hour()}/a.jsonl", b"{}\n")
    traffic = _retrain(aws, context)["labelled_traffic"]
    assert traffic["capture"] == [] and traffic["ground_truth"] == []


def test_labelled_traffic_alone_starts_a_retrain(aws, context, switched_on):
    aws.put(f"{CAPTURE}/AllTraffic/{_hour()}/a.jsonl", b"{}\n")
    aws.put(f"{LABELS}/{_hour()}/labels.jsonl", b"{}\n")
    manifest = _retrain(aws, context)
    assert manifest["objects"] == [] and len(manifest["labelled_traffic"]["capture"]) == 1


def test_switched_off_the_manifest_is_the_accepted_dataset_only(aws, context):
    assert CONFIG.retrain.labelled_traffic.enabled is False
    accepted, _ = aws.arrive("incoming/a.csv", GOOD_CSV, "arrival")
    aws.put(f"{CAPTURE}/AllTraffic/{_hour()}/a.jsonl", b"{}\n")
    aws.put(f"{LABELS}/{_hour()}/labels.jsonl", b"{}\n")
    manifest = _retrain(aws, context)
    assert set(manifest) == {"trigger", "objects", "arrivals"}
    assert [(o["key"], o["version_id"]) for o in manifest["objects"]] == [
        ("incoming/a.csv", accepted)
    ]
