"""The config's `model` section and metric gate: every problem named with its key and value,
all at once, no traceback; what a valid section becomes in the pipeline settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App

from infra.app import run
from infra.config import ConfigError, load_config, parse_config
from infra.contracts import training_pipeline_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples/custom_model/config.json"


def _dev() -> dict:
    return json.loads((REPO / "config/dev.json").read_text())


def _problems(config: dict, **kwargs) -> str:
    with pytest.raises(ConfigError) as error:
        parse_config(config, **kwargs)
    return str(error.value)


def test_without_a_model_section_it_is_gradient_boosting_with_its_defaults():
    config = parse_config(_dev())
    assert config.model.algorithm == "hist_gradient_boosting" and config.model.entry_point is None
    assert config.model.builtin_params()["max_iter"] == 200
    assert (config.metric.gate, config.metric.confidence) == ("point", 0.95)


@pytest.mark.parametrize(
    ("algorithm", "hyperparameters"),
    [
        ("hist_gradient_boosting", {"max_iter": 50, "learning_rate": 0.05, "max_depth": None}),
        ("random_forest", {"n_estimators": 30, "min_samples_leaf": 3}),
        ("linear", {"l2": 2}),  # an integer is a valid float
    ],
)
def test_each_builtin_takes_its_own_hyperparameters(algorithm, hyperparameters):
    config = _dev()
    config["model"] = {"algorithm": algorithm, "hyperparameters": hyperparameters}
    model = parse_config(config).model
    assert model.builtin_params() | hyperparameters == model.builtin_params()
    # The same section reaches the pipeline settings the stack deploys.
    assert training_pipeline_settings(parse_config(config)).model == model


def test_every_model_and_gate_problem_is_listed_at_once_with_key_and_value(tmp_path, capsys):
    config = _dev()
    config["metric"].update(gate="upper", confidence=1.5)
    config["model"] = {
        "algorithm": "random_forest",
        "hyperparameters": {
            "n_estimators": "200",
            "max_depth": 2.5,
            "learning_rate": 0.1,
            "maxDepth": 3,
            "min_samples_leaf": True,
        },
    }
    config["drift"]["schedule"] = "rate(0 minutes)"  # a problem elsewhere is listed too
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(config))
    assert run(App(context={"config": str(path)}, outdir=str(tmp_path / "out"))) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for line in (
        "metric.gate: Input should be 'point' or 'lower_bound' (got 'upper')",
        "metric.confidence: Input should be less than 1 (got 1.5)",
        "model.hyperparameters.n_estimators: Input should be a valid integer (got '200')",
        "model.hyperparameters.max_depth: Input should be a valid integer (got 2.5)",
        "model.hyperparameters.min_samples_leaf: Input should be a valid integer (got True)",
        "model.hyperparameters.learning_rate: 'learning_rate' is not a hyperparameter of "
        "random_forest (got 0.1); known: ['max_depth', 'min_samples_leaf', 'n_estimators']",
        "model.hyperparameters: 'maxDepth' is not a hyperparameter of random_forest (got 3)",
        "drift.schedule: ",
    ):
        assert f"\n  {line}" in err, (line, err)


def test_an_unknown_algorithm_is_named():
    config = _dev()
    config["model"] = {"algorithm": "xgboost"}
    assert "model.algorithm: Input should be 'hist_gradient_boosting', 'random_forest' or " in (
        _problems(config)
    )


def test_entry_point_problems_are_listed_together(tmp_path):
    config = _dev()
    config["model"] = {
        "algorithm": "linear",
        "entry_point": "models/missing.py",
        "requirements": ["xgboost>=2", "numpy", "not a requirement!", "scikit-learn<1"],
    }
    text = _problems(config, project_root=tmp_path)
    assert "model.algorithm: 'linear' and entry_point 'models/missing.py' are both set" in text
    assert f"model.entry_point: 'models/missing.py' is not a file under {tmp_path}" in text
    assert "model.requirements.0: 'xgboost>=2' is not in the scikit-learn image" in text
    assert "network-isolated" in text
    assert "model.requirements.2: 'not a requirement!' is not a requirement" in text
    assert "requirements.1" not in text  # numpy is in the image
    assert "model.requirements.3: 'scikit-learn<1' excludes scikit-learn 1." in text


@pytest.mark.parametrize(
    ("entry_point", "problem"),
    [
        ("/abs/model.py", "'/abs/model.py' must be a .py file relative to the repository root"),
        ("../model.py", "'../model.py' must be a .py file relative to the repository root"),
        ("model.py", "'model.py' must be a .py file relative to the repository root, in a folder"),
        ("models/model.txt", "'models/model.txt' must be a .py file"),
        ("m/my-model.py", "'my-model' is not a Python module name (in 'm/my-model.py')"),
    ],
)
def test_an_entry_point_outside_a_folder_of_its_own_is_refused(entry_point, problem):
    config = _dev()
    config["model"] = {"entry_point": entry_point}
    assert f"model.entry_point: {problem}" in _problems(config)


def test_an_entry_point_folder_that_is_not_source_code_alone_is_refused(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "model.py").write_text("def fit(*a, **k): ...\n")
    (folder / "data-prep").mkdir()
    (folder / "data-prep" / "clean.py").write_text("")
    config = _dev()
    config["model"] = {"entry_point": "models/model.py"}
    assert "model.entry_point: 'data-prep/clean.py' in its folder is not importable" in (
        _problems(config, project_root=tmp_path)
    )
    for i in range(201):
        (folder / f"m{i}.py").write_text("")
    assert "holds 203 Python files" in _problems(config, project_root=tmp_path)


def test_requirements_belong_to_an_entry_point():
    config = _dev()
    config["model"] = {"requirements": ["numpy"]}
    assert "model.requirements: apply to an entry_point" in _problems(config)


def test_the_example_config_validates_and_maps_onto_the_settings():
    config = load_config(EXAMPLE)
    assert config.model.entry_point == "examples/custom_model/churn_ensemble.py"
    assert config.model.module_name == "user_model.churn_ensemble"
    assert config.metric.gate == "lower_bound"
    settings = training_pipeline_settings(config)
    assert (settings.model, settings.metric_gate) == (config.model, "lower_bound")
