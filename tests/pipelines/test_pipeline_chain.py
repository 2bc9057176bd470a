"""The entry scripts as separate processes, container paths mapped to a temp folder:
validate -> preprocess -> train -> (model.tar.gz, as SageMaker packs it) -> evaluate -> baseline,
on the bundled dataset and on a CSV of another shape (regression, different columns)."""

import gzip
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.datasets import generate_churn
from pipelines.entrypoints.common import pack_schema
from pipelines.model_spec import pack_params
from pipelines.schema import DatasetSchema
from pipelines.steps import inference

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
ENV.pop("AWS_ENDPOINT_URL", None)


def _run(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=ENV, cwd=tmp, timeout=180
    )
    return proc


def run_chain(tmp: Path, schema: DatasetSchema, metric: str, threshold: float) -> dict:
    s = ["--schema", *pack_schema(schema)]
    steps = [
        [
            "-m",
            "pipelines.entrypoints.validate",
            *s,
            "--input",
            "in/data",
            "--output",
            "out/validated",
            "--report",
            "out/report",
            "--message-file",
            "msg",
            "--input-uri",
            "s3://data/incoming/",
            "--manifest-uri",
            "",
        ],
        [
            "-m",
            "pipelines.entrypoints.preprocess",
            *s,
            "--input",
            "out/validated",
            "--output",
            "out",
            "--seed",
            "3",
        ],
        [
            str(ROOT / "pipelines/entrypoints/train.py"),
            "--algorithm",
            "hist_gradient_boosting",
            "--model_params",
            pack_params({"max_iter": 100}),
            "--model-dir",
            "model",
            "--train",
            "out/train",
            "--validation",
            "out/validation",
            "--failure-file",
            "failure",
        ],
        [
            "-m",
            "pipelines.entrypoints.evaluate",
            *s,
            "--metric",
            metric,
            "--threshold",
            str(threshold),
            "--tolerance",
            "0.02",
            "--model",
            "in/model",
            "--test",
            "out/test",
            "--output",
            "out/evaluation",
            "--message-file",
            "msg",
        ],
        [
            "-m",
            "pipelines.entrypoints.baseline",
            *s,
            "--train",
            "out/train",
            "--output",
            "out/baseline",
        ],
    ]
    started = time.perf_counter()
    for args in steps:
        if "pipelines.entrypoints.evaluate" in args:
            (tmp / "in/model").mkdir(parents=True)
            with tarfile.open(tmp / "in/model/model.tar.gz", "w:gz") as tar:
                tar.add(tmp / "model", arcname=".")
        proc = _run(tmp, *args)
        assert proc.returncode == 0, f"{args[:2]}\n{proc.stdout}\n{proc.stderr[-2000:]}"
    return {"seconds": time.perf_counter() - started}


def test_chain_on_bundled_dataset(tmp_path, churn_schema):
    (tmp_path / "in/data/2026").mkdir(parents=True)
    generate_churn(5000, seed=7).to_csv(tmp_path / "in/data/2026/a.csv", index=False)
    timing = run_chain(tmp_path, churn_schema, "roc_auc", 0.7)
    print(f"bundled dataset chain: {timing['seconds']:.1f}s")
    evaluation = json.loads((tmp_path / "out/evaluation/evaluation.json").read_text())
    assert evaluation["objective"]["value"] > 0.75 and evaluation["objective"]["passed"]
    lineage = json.loads((tmp_path / "out/report/validation.json").read_text())["lineage"]
    assert lineage["DataManifestUri"] == "none"
    assert (tmp_path / "out/baseline/baseline.json").exists()
    model = inference.model_fn(str(tmp_path / "model"))
    body = generate_churn(3, seed=1).drop(columns=["churned"]).to_csv(index=False, header=False)
    out, kind = inference.output_fn(
        inference.predict_fn(inference.input_fn(body, "text/csv"), model), "application/json"
    )
    assert len(json.loads(out)["predictions"]) == 3


def test_chain_on_another_shape(tmp_path):
    rng = np.random.default_rng(0)
    n = 800
    frame = pd.DataFrame(
        {
            "rooms": rng.integers(1, 8, n),
            "district": rng.choice(["old town", "harbour", "hills"], n),
            "area_m2": rng.uniform(20, 200, n).round(1),
        }
    )
    frame["price"] = (
        frame["area_m2"] * 3
        + frame["rooms"] * 10
        + (frame["district"] == "hills") * 80
        + rng.normal(0, 10, n)
    ).round(2)
    schema = DatasetSchema(
        target="price",
        problem_type="regression",
        min_rows=100,
        features=[
            {"name": "district", "type": "categorical"},
            {"name": "area_m2", "type": "numeric", "min": 0},
            {"name": "rooms", "type": "numeric"},
        ],
    )
    (tmp_path / "in/data").mkdir(parents=True)
    frame[["price", "rooms", "district", "area_m2"]].to_csv(tmp_path / "in/data/h.csv", index=False)
    run_chain(tmp_path, schema, "rmse", 40.0)
    evaluation = json.loads((tmp_path / "out/evaluation/evaluation.json").read_text())
    assert evaluation["regression_metrics"]["r2"]["value"] > 0.8


def test_bad_data_fails_validate_with_named_violations(tmp_path, churn_schema):
    (tmp_path / "in/data").mkdir(parents=True)
    bad = generate_churn(300, seed=1)
    bad.loc[0, "contract"] = "weekly"
    bad.loc[1, "age"] = 250
    bad.to_csv(tmp_path / "in/data/bad.csv", index=False)
    proc = _run(
        tmp_path,
        "-m",
        "pipelines.entrypoints.validate",
        "--schema",
        *pack_schema(churn_schema),
        "--input",
        "in/data",
        "--output",
        "out/validated",
        "--report",
        "out/report",
        "--message-file",
        "msg",
    )
    assert proc.returncode == 1
    message = (tmp_path / "msg").read_text()
    assert "column contract" in message and "column age" in message
    assert not (tmp_path / "out/validated").exists()


@pytest.fixture()
def churn_schema() -> DatasetSchema:
    return DatasetSchema.model_validate(
        json.loads((ROOT / "config/dev.json").read_text())["dataset"]
    )


def test_bad_objects_are_set_aside_and_the_rest_is_validated(tmp_path, churn_schema):
    data = tmp_path / "in/data"
    data.mkdir(parents=True)
    generate_churn(600, seed=1).to_csv(data / "good.csv", index=False)
    labels = generate_churn(300, seed=2).astype({"churned": str})
    labels.loc[0, "churned"] = "maybe"
    labels.to_csv(data / "labels.csv", index=False)
    clean = generate_churn(3000, seed=3).to_csv(index=False).encode()
    (data / "cut.csv.gz").write_bytes(gzip.compress(clean)[:-100])
    cut = clean.index(b"\n", 66_000) + 1
    (data / "latin1.csv").write_bytes(clean[:cut] + b"\xe9" + clean[cut:])
    proc = _run(
        tmp_path,
        "-m",
        "pipelines.entrypoints.validate",
        "--schema",
        *pack_schema(churn_schema),
        "--input",
        "in/data",
        "--output",
        "out/validated",
        "--report",
        "out/report",
        "--message-file",
        "msg",
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads((tmp_path / "out/report/validation.json").read_text())
    verdicts = {o["object"]["key"]: o for o in report["objects"]}
    assert {k: v["accepted"] for k, v in verdicts.items()} == {
        "cut.csv.gz": False,
        "good.csv": True,
        "labels.csv": False,
        "latin1.csv": False,
    }
    assert verdicts["cut.csv.gz"]["violations"][0]["reason"] == "gzip_truncated"
    assert verdicts["latin1.csv"]["violations"][0]["message"].startswith(
        f"byte 0xe9 at offset {cut} is not UTF-8"
    )
    assert "rejected labels.csv: target churned: 1 value(s) outside the classes" in proc.stdout
    assert report["n_rows"] == 600
