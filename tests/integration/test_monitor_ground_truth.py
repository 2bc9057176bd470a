"""The monitoring entry script over S3 and CloudWatch (moto): captures with and without an
inferenceId, labels uploaded hours after their predictions, a label for a prediction older than
the look-back, a corrected label; what the report says and what is published."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from unittest import mock

import boto3
import numpy as np
import pytest
from moto import mock_aws

from pipelines.datasets import generate_churn
from pipelines.drift import build_profile
from pipelines.entrypoints import monitor
from pipelines.entrypoints.common import pack_schema
from pipelines.schema import DatasetSchema
from pipelines.steps.prediction_drift import prediction_baseline

END = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
DATA, ARTIFACTS, ENDPOINT = "data", "artifacts", "mlops-dev-endpoint"
SCHEMA = DatasetSchema.model_validate(
    {
        "target": "churned",
        "problem_type": "classification",
        "classes": ["0", "1"],
        "features": [
            {"name": "tenure_months", "type": "numeric", "min": 0, "max": 120},
            {"name": "contract", "type": "categorical"},
        ],
    }
)


def _capture(event_id, when, score, inference_id=None):
    meta = {"eventId": event_id, "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    if inference_id:
        meta["inferenceId"] = inference_id
    label = "1" if score >= 0.5 else "0"
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": "12,one-year",
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "text/csv",
                    "mode": "OUTPUT",
                    "data": f"{label},{score}",
                    "encoding": "CSV",
                },
            },
            "eventMetadata": meta,
            "eventVersion": "0",
        }
    )


def _label(event_id, value, version="0"):
    return json.dumps(
        {
            "groundTruthData": {"data": value, "encoding": "CSV"},
            "eventMetadata": {"eventId": event_id},
            "eventVersion": version,
        }
    )


def _put(s3, bucket, key, lines):
    s3.put_object(Bucket=bucket, Key=key, Body=("\n".join(lines) + "\n").encode())


@pytest.fixture()
def stack(moto_credentials, tmp_path):
    with mock_aws():
        s3 = boto3.client("s3")
        for bucket in (DATA, ARTIFACTS):
            s3.create_bucket(Bucket=bucket)
        train = generate_churn(500, seed=1)[["tenure_months", "contract"]]
        s3.put_object(
            Bucket=ARTIFACTS,
            Key="pipelines/x/baseline.json",
            Body=build_profile([train], SCHEMA.feature_kinds).to_json().encode(),
        )
        scores = np.random.default_rng(0).uniform(0, 1, 400)
        answers = [{"label": str(int(s >= 0.5)), "score": float(s)} for s in scores]
        evaluation = {"prediction_baseline": prediction_baseline(answers, "classification")}
        s3.put_object(
            Bucket=ARTIFACTS, Key="pipelines/x/evaluation.json", Body=json.dumps(evaluation)
        )
        live = {
            "endpoint_name": ENDPOINT,
            "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3",
            "model_package_version": 3,
            "baseline_uri": f"s3://{ARTIFACTS}/pipelines/x/baseline.json",
            "evaluation_uri": f"s3://{ARTIFACTS}/pipelines/x/evaluation.json",
            "deployed_at": (END - timedelta(hours=40)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        s3.put_object(Bucket=ARTIFACTS, Key=f"live/{ENDPOINT}.json", Body=json.dumps(live))
        yield s3, tmp_path


def _run(tmp_path, min_labelled_rows=100):
    monitor.main(
        [
            "--schema", *pack_schema(SCHEMA),
            "--endpoint-name", ENDPOINT,
            "--capture-uri", f"s3://{DATA}/capture/{ENDPOINT}/",
            "--live-record-uri", f"s3://{ARTIFACTS}/live/{ENDPOINT}.json",
            "--namespace", "mlops-dev/Drift",
            "--window-end", END.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "--ground-truth-uri", f"s3://{DATA}/ground-truth/{ENDPOINT}/",
            "--metric", "roc_auc",
            "--lookback-hours", "24",
            "--min-labelled-rows", str(min_labelled_rows),
            "--output", str(tmp_path / "out"),
            "--message-file", str(tmp_path / "msg"),
        ]
    )  # fmt: skip
    folder = tmp_path / "out" / END.strftime("%Y%m%dT%H%M%SZ")
    return json.loads((folder / "drift_report.json").read_text())


def _traffic(s3):
    """120 predictions at 09:xx (60 with an inferenceId), labelled from the 13:00 folder, after
    the window; 10 in the window itself, unlabelled; one prediction 30 h back."""
    rng = np.random.default_rng(4)
    scores = rng.uniform(0, 1, 120)
    actual = (rng.uniform(0, 1, 120) < scores).astype(int)
    early = END - timedelta(hours=3)
    lines, labels = [], []
    for i, (score, y) in enumerate(zip(scores, actual, strict=True)):
        inference_id = f"order-{i}" if i % 2 else None
        lines.append(_capture(f"ev-{i}", early + timedelta(seconds=i), score, inference_id))
        labels.append(_label(inference_id or f"ev-{i}", str(y)))
    path = f"capture/{ENDPOINT}/AllTraffic"
    _put(s3, DATA, f"{path}/{early:%Y/%m/%d/%H}/a.jsonl", lines)
    recent = [_capture(f"now-{i}", END - timedelta(minutes=10 + i), 0.3) for i in range(10)]
    _put(s3, DATA, f"{path}/{END - timedelta(hours=1):%Y/%m/%d/%H}/b.jsonl", recent)
    old = END - timedelta(hours=30)
    _put(s3, DATA, f"{path}/{old:%Y/%m/%d/%H}/c.jsonl", [_capture("ev-old", old, 0.9)])
    # a corrected label for order-1 (version 1 beats version 0), and the old prediction's label
    labels += [_label("order-1", str(1 - actual[1]), version="1"), _label("ev-old", "1")]
    late = END + timedelta(hours=1)
    _put(s3, DATA, f"ground-truth/{ENDPOINT}/{late:%Y/%m/%d/%H}/labels.jsonl", labels)
    return scores, actual


def test_late_labels_count_in_their_predictions_window_and_are_published(stack):
    from sklearn.metrics import roc_auc_score

    s3, tmp_path = stack
    scores, actual = _traffic(s3)
    report = _run(tmp_path)
    quality = report["model_quality"]
    assert quality["n_predictions"] == 130  # the look-back: 24 h, not the 30 h old one
    assert quality["n_labelled_rows"] == 120
    assert quality["n_unmatched_records"] == 1  # ev-old: older than the look-back
    assert quality["n_duplicate_records"] == 1
    corrected = actual.copy()
    corrected[1] = 1 - corrected[1]
    assert quality["value"] == pytest.approx(roc_auc_score(corrected, scores))
    windows = {w["window_start"]: w for w in quality["windows"]}
    assert windows["2026-01-02T09:00:00Z"]["n_late_labels"] == 120
    assert windows["2026-01-02T09:00:00Z"]["value"] == pytest.approx(quality["value"])
    assert windows["2026-01-02T11:00:00Z"]["n_labelled_rows"] == 0
    assert report["prediction_drift"]["n_current"] == 10  # the window's own answers
    assert report["data_quality"]["n_rows"] == 10
    cloudwatch = boto3.client("cloudwatch")
    published = {
        (m["MetricName"], tuple(sorted(d["Name"] for d in m["Dimensions"])))
        for m in cloudwatch.list_metrics(Namespace="mlops-dev/Drift")["Metrics"]
    }
    assert ("model_quality_roc_auc", ("EndpointName",)) in published
    assert ("model_quality_roc_auc", ("EndpointName", "ModelVersion")) in published
    assert ("model_quality_accuracy", ("EndpointName",)) in published
    # 10 rows are fewer than data_quality's 100: nothing of it is published
    assert not any(name.startswith("data_quality") for name, _ in published)


def test_too_few_labelled_rows_publish_no_model_quality(stack):
    s3, tmp_path = stack
    _traffic(s3)
    report = _run(tmp_path, min_labelled_rows=500)
    assert report["model_quality"]["status"] == "insufficient_data"
    assert report["model_quality"]["value"] is None
    names = {m["MetricName"] for m in boto3.client("cloudwatch").list_metrics()["Metrics"]}
    assert not any(n.startswith("model_quality") for n in names)


def test_each_capture_object_is_read_once_with_labels(stack):
    # the window's objects serve drift, prediction drift and model quality; the look-back reads
    # only the objects before the window (it used to GET the window's again)
    s3, tmp_path = stack
    _traffic(s3)
    gets: list[str] = []
    session_client = boto3.client

    def counting_client(*args, **kwargs):
        client = session_client(*args, **kwargs)
        client.meta.events.register(
            "before-parameter-build.s3.GetObject", lambda params, **_: gets.append(params["Key"])
        )
        return client

    with mock.patch.object(boto3, "client", counting_client):
        report = _run(tmp_path)
    captures = [k for k in gets if k.startswith("capture/")]
    assert sorted(captures) == sorted(set(captures))
    assert len(captures) == 2  # the 09:xx and the window's file; the 30 h old one is not read
    assert report["model_quality"]["n_predictions"] == 130
    assert report["prediction_drift"]["n_current"] == 10
