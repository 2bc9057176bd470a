"""retrain.labelled_traffic in the local runtime, through the real rules, handlers, steps and the
IAM authorizer: a model-quality alarm retrains on the accepted upload and the captured requests
that have ground-truth labels, and the run's record and lineage name every version it read."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import package_of, unique, wait_for

from emulator.bus import EXACTLY_ONCE
from emulator.runtime import LocalRuntime, SynthesizedStack
from mlops.lineage import labelled_traffic, run_record, trained_on
from pipelines.datasets import generate_churn

REPO = Path(__file__).resolve().parents[2]
ROWS_PER_REQUEST = 10


@pytest.fixture(scope="module")
def runtime(synthesize, tmp_path_factory) -> Iterator[LocalRuntime]:
    raw = json.loads((REPO / "config/dev.json").read_text())
    raw["retrain"]["labelled_traffic"] = {"enabled": True, "days": 14}
    synthesized = synthesize("labelled", raw)
    stack = SynthesizedStack(synthesized.name, synthesized.raw, synthesized.outdir)
    with LocalRuntime(
        stack=stack,
        scratch_dir=tmp_path_factory.mktemp("labelled"),
        time_scale=0.002,
        delivery=EXACTLY_ONCE,
    ) as started:
        assert started.authorizer is not None  # every call below is checked against its role
        yield started


def _traffic(rows: int, seed: int):
    frame = generate_churn(rows, seed=seed)
    return frame.assign(age=frame["age"].fillna(40.0))


def _capture(runtime, frame, tag: str) -> tuple[str, list[str]]:
    """Captured requests in SageMaker's format, as the endpoint writes them; the labels a user
    would upload for them (one record per request, a label per row)."""
    features = [c for c in frame.columns if c != "churned"]
    rows = frame[features].to_csv(index=False, header=False).splitlines()
    labels = [str(v) for v in frame["churned"]]
    now = time.gmtime()
    lines, records = [], []
    for start in range(0, len(rows), ROWS_PER_REQUEST):
        inference_id = f"{tag}-{start}"
        lines.append(
            json.dumps(
                {
                    "captureData": {
                        "endpointInput": {
                            "observedContentType": "text/csv",
                            "mode": "INPUT",
                            "data": "\n".join(rows[start : start + ROWS_PER_REQUEST]),
                            "encoding": "CSV",
                        },
                        "endpointOutput": {
                            "observedContentType": "text/csv",
                            "mode": "OUTPUT",
                            "data": "0,0.1",
                            "encoding": "CSV",
                        },
                    },
                    "eventMetadata": {
                        "eventId": unique("event"),
                        "inferenceId": inference_id,
                        "inferenceTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", now),
                    },
                    "eventVersion": "0",
                }
            )
        )
        records.append(
            json.dumps(
                {
                    "groundTruthData": {
                        "data": "\n".join(labels[start : start + ROWS_PER_REQUEST]),
                        "encoding": "CSV",
                    },
                    "eventMetadata": {"eventId": inference_id},
                    "eventVersion": "0",
                }
            )
        )
    hour = time.strftime("%Y/%m/%d/%H", now)
    key = f"capture/{runtime.endpoint_name}/AllTraffic/{hour}/{tag}.jsonl"
    runtime.cloud.client("s3").put_object(
        Bucket=runtime.data_bucket, Key=key, Body=("\n".join(lines) + "\n").encode()
    )
    return key, records


@pytest.fixture(scope="module")
def retrained(runtime, load_event) -> dict:
    s3 = runtime.cloud.client("s3")
    s3.put_object(
        Bucket=runtime.data_bucket,
        Key="incoming/churn.csv",
        Body=generate_churn(1000, seed=7).to_csv(index=False).encode(),
    )
    [first] = wait_for(
        lambda: [e.arn for e in runtime.executor.executions()], 120, "the upload's training run"
    )
    assert runtime.executor.wait(first, 300) == "Succeeded", runtime.executor.failure_reason(first)
    assert runtime.settle(120)

    good_key, good_labels = _capture(runtime, _traffic(300, seed=11), "good")
    bad = _traffic(40, seed=12)
    bad_key, bad_labels = _capture(runtime, bad, "bad")
    bad_labels = [line.replace('"data": "0', '"data": "maybe') for line in bad_labels]
    _capture(runtime, _traffic(50, seed=13), "unlabelled")
    labels_key = f"ground-truth/{runtime.endpoint_name}/{time.strftime('%Y/%m/%d/%H')}/l.jsonl"
    s3.put_object(
        Bucket=runtime.data_bucket,
        Key=labels_key,
        Body=("\n".join(good_labels + bad_labels) + "\n").encode(),
    )

    alarm = {**load_event("alarm_model_quality_alarm.json"), "id": unique("quality")}
    runtime.bus.put(alarm)
    started = wait_for(
        lambda: [
            e.result
            for e in runtime.bus.timeline
            if e.event_id == alarm["id"] and isinstance(e.result, dict)
        ],
        120,
        "drift_retrain's answer to the alarm",
    )
    assert started[-1]["status"] == "started", started
    arn = started[-1]["execution_arn"]
    assert runtime.executor.wait(arn, 300) == "Succeeded", runtime.executor.failure_reason(arn)
    package = package_of(runtime, arn)
    return {
        "meta": package["CustomerMetadataProperties"],
        "good": good_key,
        "bad": bad_key,
        "labels": labels_key,
        "execution_id": arn.rsplit("/", 1)[-1],
    }


def _version(runtime, key: str) -> str:
    s3 = runtime.cloud.client("s3")
    return s3.head_object(Bucket=runtime.data_bucket, Key=key)["VersionId"]


def test_the_retrain_trains_on_the_upload_and_the_labelled_captured_rows(runtime, retrained):
    s3 = runtime.cloud.client("s3")
    validation = json.loads(
        s3.get_object(
            Bucket=runtime.artifacts_bucket,
            Key=f"pipelines/{retrained['execution_id']}/report/validation.json",
        )["Body"].read()
    )
    # 1000 uploaded rows and the 300 good labelled ones; the 50 unlabelled and the 40 whose
    # labels are outside the classes never train
    assert validation["n_rows"] == 1300
    assert retrained["meta"]["TriggerEventType"] == "drift:alarm"


def test_its_record_and_lineage_name_every_version_it_read(runtime, retrained):
    s3 = runtime.cloud.client("s3")
    record = run_record(s3, retrained["meta"])
    assert [(o.key, o.version_id) for o in trained_on(s3, retrained["meta"], record)] == [
        ("incoming/churn.csv", _version(runtime, "incoming/churn.csv"))
    ]
    traffic = labelled_traffic(record)
    assert traffic is not None and traffic.rows == 300
    capture = {(o.key, o.version_id): o.rows for o in traffic.capture}
    assert capture[(retrained["good"], _version(runtime, retrained["good"]))] == 300
    assert capture[(retrained["bad"], _version(runtime, retrained["bad"]))] == 0
    assert [(o.key, o.version_id) for o in traffic.ground_truth] == [
        (retrained["labels"], _version(runtime, retrained["labels"]))
    ]


def test_the_bad_captured_rows_are_quarantined_and_the_capture_stays(runtime, retrained):
    s3 = runtime.cloud.client("s3")
    reason = json.loads(
        s3.get_object(
            Bucket=runtime.data_bucket,
            Key=f"quarantine/{retrained['bad']}.labelled.csv.reason.json",
        )["Body"].read()
    )
    assert reason["reason"] == "values_outside_classes"
    assert reason["version_id"] == _version(runtime, retrained["bad"])
    assert reason["labelled_by"] == [
        {"key": retrained["labels"], "version_id": _version(runtime, retrained["labels"])}
    ]


def test_validate_used_its_grants_on_the_endpoints_capture_and_labels(runtime, retrained):
    """The pipeline role's s3:GetObjectVersion on the two folders is exercised (and, being
    enforced, was enough): a grant the loop never needs would be left over here."""
    data = f"arn:aws:s3:::{runtime.data_bucket}"
    folders = {
        f"{data}/capture/{runtime.endpoint_name}/*",
        f"{data}/ground-truth/{runtime.endpoint_name}/*",
    }
    unused = runtime.unused_grants().get("mlops-dev-sagemaker", [])
    assert [e for e in unused if e["resource"] in folders] == []
