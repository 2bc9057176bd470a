import importlib.util
import json
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from pipelines.datasets import generate_churn
from pipelines.model_spec import ModelSpec
from pipelines.schema import DatasetSchema
from pipelines.steps import inference
from pipelines.steps.condition import compare_with_live, decide_condition
from pipelines.steps.evaluate import evaluate_model
from pipelines.steps.preprocess import split_frame
from pipelines.steps.tabular import to_typed
from pipelines.steps.train import fit_model, model_metadata, save_model


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # OpenMP spinning makes gradient boosting crawl on a busy shared machine.
    with threadpool_limits(1):
        yield


def test_split_is_reproducible_and_disjoint(churn_schema):
    frame = to_typed(generate_churn(1000, seed=2).astype(str).replace("nan", None), churn_schema)
    a, b = split_frame(frame, churn_schema, seed=4), split_frame(frame, churn_schema, seed=4)
    assert a.train.equals(b.train) and a.test.equals(b.test)
    assert (len(a.train), len(a.validation), len(a.test)) == (700, 150, 150)
    assert not split_frame(frame, churn_schema, seed=5).train.equals(a.train)


def test_model_dir_serves_without_the_pipelines_package(churn_model, monkeypatch):
    # The container imports code/inference.py as a top-level module, with nothing of this
    # repository installed: the handlers and the modules beside them must do with the archive.
    model, splits, model_dir = churn_model
    for name in [m for m in sys.modules if m == "pipelines" or m.startswith("pipelines.")]:
        monkeypatch.setitem(sys.modules, name, None)  # importing any of them fails
    spec = importlib.util.spec_from_file_location(
        "_served_probe", model_dir / "code" / "inference.py"
    )
    served = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(served)
    row = splits.test.drop(columns=["churned"]).head(1).to_csv(index=False, header=False)
    answer = served.predict_fn(served.input_fn(row, "text/csv"), served.model_fn(str(model_dir)))
    assert answer == inference.predict_fn(inference.input_fn(row, "text/csv"), model)
    metadata = json.loads((model_dir / "metadata.json").read_text())
    assert metadata["positive_class"] == "1"
    assert metadata["categories"]["region"] == ["north", "south", "east", "west"]


@pytest.mark.parametrize("with_header", [False, True])
def test_csv_requests(churn_model, with_header):
    model, splits, _ = churn_model
    rows = splits.test.drop(columns=["churned"]).head(3)
    body = rows.to_csv(index=False, header=with_header)
    out = inference.predict_fn(inference.input_fn(body, "text/csv"), model)
    assert len(out) == 3 and all(0.0 <= p["score"] <= 1.0 for p in out)
    text, kind = inference.output_fn(out, "text/csv")
    assert kind == "text/csv" and len(text.strip().splitlines()) == 3


def test_json_requests_agree_with_csv(churn_model):
    model, splits, _ = churn_model
    rows = splits.test.drop(columns=["churned"]).head(4)
    csv_out = inference.predict_fn(
        inference.input_fn(rows.to_csv(index=False, header=False), "text/csv"), model
    )
    records = json.loads(rows.to_json(orient="records"))
    lists = rows.astype(object).where(rows.notna(), None).values.tolist()
    for body in ({"instances": records}, records, {"instances": lists}):
        out = inference.predict_fn(inference.input_fn(json.dumps(body), "application/json"), model)
        assert [p["score"] for p in out] == pytest.approx([p["score"] for p in csv_out])
    text, kind = inference.output_fn(csv_out, "application/json")
    assert kind == "application/json" and len(json.loads(text)["predictions"]) == 4


def test_evaluation_is_in_sagemaker_format_and_learns(churn_model, churn_schema):
    model, splits, _ = churn_model
    result = evaluate_model(
        model,
        splits.test,
        churn_schema,
        metric="roc_auc",
        threshold=0.7,
        tolerance=0.02,
        live_value=None,
    )
    section = result["binary_classification_metrics"]
    assert set(section["roc_auc"]) == {"value", "standard_deviation"}
    assert section["roc_auc"]["value"] > 0.75
    objective = result["objective"]
    assert objective["first_model"] and objective["passed"] and objective["regression_vs_live"] == 0
    worse = evaluate_model(
        model,
        splits.test,
        churn_schema,
        metric="roc_auc",
        threshold=0.7,
        tolerance=0.02,
        live_value=0.99,
    )
    assert not worse["objective"]["passed"]
    assert "worse than the live model" in worse["objective"]["reasons"][0]


def test_condition_rule():
    assert compare_with_live(0.8, None, True) == 0.0
    assert compare_with_live(0.8, 0.85, True) == pytest.approx(0.05)
    assert compare_with_live(3.0, 2.5, False) == pytest.approx(0.5)
    ok = decide_condition(
        value=0.8, threshold=0.7, regression=0.01, tolerance=0.02, greater_is_better=True
    )
    assert ok.passed and not ok.reasons
    low = decide_condition(
        value=0.6, threshold=0.7, regression=0.0, tolerance=0.02, greater_is_better=True
    )
    assert not low.passed and "below the threshold" in low.reasons[0]
    rmse = decide_condition(
        value=5.0, threshold=4.0, regression=0.0, tolerance=0.0, greater_is_better=False
    )
    assert not rmse.passed and "above the threshold" in rmse.reasons[0]


def test_regression_schema_trains_and_evaluates(tmp_path):
    rng = np.random.default_rng(0)
    schema = DatasetSchema(
        target="price",
        problem_type="regression",
        min_rows=50,
        features=[
            {"name": "size", "type": "numeric"},
            {"name": "city", "type": "categorical", "categories": ["a", "b"]},
        ],
    )
    size = rng.uniform(10, 100, 400)
    city = rng.choice(["a", "b"], 400)
    import pandas as pd

    raw = pd.DataFrame(
        {"size": size, "city": city, "price": 3 * size + (city == "b") * 50 + rng.normal(0, 5, 400)}
    )
    frame = to_typed(raw.astype(str), schema)
    splits = split_frame(frame, schema, seed=0)
    params = ModelSpec(algorithm="linear")
    save_model(fit_model(splits.train, schema, params), model_metadata(schema, params), tmp_path)
    model = inference.model_fn(str(tmp_path))
    result = evaluate_model(
        model, splits.test, schema, metric="rmse", threshold=20.0, tolerance=0.0, live_value=None
    )
    assert result["regression_metrics"]["r2"]["value"] > 0.9
    assert result["objective"]["passed"] and not result["objective"]["greater_is_better"]
