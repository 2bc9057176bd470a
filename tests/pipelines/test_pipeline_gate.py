"""The training definition of the custom-model example: its Condition checks the threshold
against the gate value Evaluate writes (the interval's lower bound there), as the local
runtime's executor evaluates it, and its Train step carries the model section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator.pipeline_functions import Context, evaluate_condition
from infra.config import load_config
from infra.contracts import training_pipeline_settings
from pipelines.model_spec import unpack_params
from pipelines.training import build_training_definition

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_model" / "config.json"


@pytest.fixture(scope="module")
def steps() -> dict:
    settings = training_pipeline_settings(load_config(EXAMPLE))
    definition = json.loads(build_training_definition(settings))
    return {s["Name"]: s for s in definition["Steps"]}


def _registers(steps: dict, objective: dict) -> bool:
    ctx = Context(
        parameters={"MetricThreshold": 0.7},
        execution={},
        steps={"Evaluate": {}},
        property_files={"Evaluate": {"EvaluationReport": {"objective": objective}}},
    )
    return all(evaluate_condition(c, ctx) for c in steps["CheckMetric"]["Arguments"]["Conditions"])


def test_the_condition_gates_on_the_lower_bound_not_the_metric(steps):
    # A metric above the threshold whose lower bound is below it is not registered.
    assert not _registers(steps, {"value": 0.75, "gate_value": 0.68, "regression_vs_live": 0.0})
    assert _registers(steps, {"value": 0.75, "gate_value": 0.72, "regression_vs_live": 0.0})
    evaluate = steps["Evaluate"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert evaluate[evaluate.index("--gate") + 1] == "lower_bound"
    assert evaluate[evaluate.index("--confidence") + 1] == "0.95"


def test_the_train_step_runs_the_users_module_with_its_hyperparameters(steps):
    hyperparameters = steps["Train"]["Arguments"]["HyperParameters"]
    assert hyperparameters["entry_point"] == "user_model.churn_ensemble"
    assert "algorithm" not in hyperparameters
    assert unpack_params(hyperparameters["model_params"]) == {
        "C": 0.5,
        "n_estimators": 60,
        "min_samples_leaf": 5,
    }
