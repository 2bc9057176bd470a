"""One metric table: what Evaluate reports is exactly what the config accepts, both problems."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from infra.config import ConfigError, parse_config
from pipelines.metrics import METRICS
from pipelines.model_spec import ModelSpec
from pipelines.schema import DatasetSchema
from pipelines.steps import inference
from pipelines.steps.evaluate import evaluate_model
from pipelines.steps.preprocess import split_frame
from pipelines.steps.tabular import to_typed
from pipelines.steps.train import fit_model, model_metadata, save_model

DEV = json.loads((Path(__file__).resolve().parents[3] / "config/dev.json").read_text())
REGRESSION = {
    "target": "price",
    "problem_type": "regression",
    "min_rows": 50,
    "features": [
        {"name": "size", "type": "numeric"},
        {"name": "city", "type": "categorical", "categories": ["a", "b"]},
    ],
}
SECTIONS = {"classification": "binary_classification_metrics", "regression": "regression_metrics"}


def _accepted(dataset: dict, candidates: set[str]) -> set[str]:
    accepted = set()
    for name in candidates:
        raw = copy.deepcopy(DEV) | {"dataset": dataset}
        raw["metric"] = {"name": name, "threshold": 0.5}
        try:
            parse_config(raw)
        except ConfigError:
            continue
        accepted.add(name)
    return accepted


@pytest.fixture(scope="module")
def regression_model(tmp_path_factory):
    rng = np.random.default_rng(0)
    schema = DatasetSchema.model_validate(REGRESSION)
    size, city = rng.uniform(10, 100, 300), rng.choice(["a", "b"], 300)
    raw = pd.DataFrame({"size": size, "city": city, "price": 3 * size + rng.normal(0, 5, 300)})
    splits = split_frame(to_typed(raw.astype(str), schema), schema, seed=0)
    spec = ModelSpec(algorithm="linear")
    model_dir = tmp_path_factory.mktemp("regression")
    save_model(fit_model(splits.train, schema, spec), model_metadata(schema, spec), model_dir)
    return inference.model_fn(str(model_dir)), splits, schema


@pytest.mark.parametrize("problem", ["classification", "regression"])
def test_evaluate_reports_exactly_the_metrics_the_config_accepts(
    problem, churn_model, churn_schema, regression_model
):
    if problem == "classification":
        (model, splits, _), schema, dataset = churn_model, churn_schema, DEV["dataset"]
    else:
        (model, splits, schema), dataset = regression_model, REGRESSION
    metric = next(iter(METRICS[problem]))
    result = evaluate_model(
        model, splits.test, schema, metric=metric, threshold=0.5, tolerance=0.0, live_value=None
    )
    # Each metric is {"value", "standard_deviation"}; the confusion matrix is counts, not one.
    reported = {
        name
        for name, entry in result[SECTIONS[problem]].items()
        if isinstance(entry, dict) and set(entry) == {"value", "standard_deviation"}
    }
    every_name = reported | {m for table in METRICS.values() for m in table}
    assert _accepted(dataset, every_name) == reported
