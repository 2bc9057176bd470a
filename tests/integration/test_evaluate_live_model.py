"""Evaluate judges the new model against the live one on the same test rows (moto S3): after the
labels changed (concept drift), the live model's registered metric is not what it achieves."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from pipelines.datasets import generate_churn
from pipelines.entrypoints import evaluate
from pipelines.entrypoints.common import pack_schema
from pipelines.model_spec import ModelSpec
from pipelines.schema import DatasetSchema
from pipelines.steps import inference
from pipelines.steps.evaluate import metric_on
from pipelines.steps.tabular import read_typed
from pipelines.steps.train import fit_model, model_metadata, save_model

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = "artifacts"
REGISTERED = 0.85  # what the live model scored on its own test rows when it was registered


def _flipped(frame):
    # the same features, the opposite answer: the concept changed, the data did not
    return frame.assign(churned=1 - frame["churned"])


def _model(tmp: Path, name: str, train, schema: DatasetSchema) -> Path:
    spec = ModelSpec(algorithm="hist_gradient_boosting", hyperparameters={"max_iter": 50})
    folder = save_model(
        fit_model(train, schema, spec), model_metadata(schema, spec, train), tmp / name
    )
    with tarfile.open(tmp / f"{name}.tar.gz", "w:gz") as tar:
        tar.add(folder, arcname=".")
    return folder


@pytest.fixture()
def run(moto_credentials, tmp_path):
    schema = DatasetSchema.model_validate(
        json.loads((ROOT / "config/dev.json").read_text())["dataset"]
    )
    live_dir = _model(tmp_path, "live", generate_churn(1500, seed=1), schema)
    new_dir = _model(tmp_path, "new", _flipped(generate_churn(1500, seed=2)), schema)
    (tmp_path / "test").mkdir()
    _flipped(generate_churn(600, seed=3)).to_csv(tmp_path / "test/test.csv", index=False)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=ARTIFACTS)

        def evaluate_with(model_data_url: str) -> dict:
            record = {
                "metric_name": "roc_auc",
                "metric_value": REGISTERED,
                "model_data_url": model_data_url,
            }
            s3.put_object(Bucket=ARTIFACTS, Key="live/ep.json", Body=json.dumps(record))
            evaluate.main(
                [
                    "--schema", *pack_schema(schema),
                    "--metric", "roc_auc", "--threshold", "0.7", "--tolerance", "0.02",
                    "--live-record-uri", f"s3://{ARTIFACTS}/live/ep.json",
                    "--model", str(tmp_path / "new.tar.gz"),
                    "--test", str(tmp_path / "test"),
                    "--output", str(tmp_path / "out"),
                    "--message-file", str(tmp_path / "msg"),
                ]
            )  # fmt: skip
            return json.loads((tmp_path / "out/evaluation.json").read_text())["objective"]

        s3.upload_file(str(tmp_path / "live.tar.gz"), ARTIFACTS, "pipelines/old/model.tar.gz")
        test = read_typed(tmp_path / "test", schema)
        live_now = metric_on(inference.model_fn(str(live_dir)), test, schema, "roc_auc")
        new_now = metric_on(inference.model_fn(str(new_dir)), test, schema, "roc_auc")
        yield evaluate_with, live_now, new_now


def test_the_live_model_is_scored_on_the_new_test_split(run):
    evaluate_with, live_now, new_now = run
    assert live_now < 0.5 < 0.7 < new_now  # the old concept is now wrong, the new one is right
    objective = evaluate_with(f"s3://{ARTIFACTS}/pipelines/old/model.tar.gz")
    assert objective["live_value"] == pytest.approx(live_now)
    assert "on this test split" in objective["live_value_source"]
    # against the registered 0.85 this retrain would have been refused
    assert objective["value"] == pytest.approx(new_now) and objective["passed"]


def test_a_live_artifact_that_cannot_be_read_falls_back_to_its_registered_metric(run):
    evaluate_with, _, _ = run
    objective = evaluate_with(f"s3://{ARTIFACTS}/pipelines/gone/model.tar.gz")
    assert objective["live_value"] == REGISTERED
    assert objective["live_value_source"].startswith("registered metric (the live model could")
    assert "ClientError" in objective["live_value_source"]
