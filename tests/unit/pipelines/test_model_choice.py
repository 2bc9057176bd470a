"""Each built-in algorithm trains and serves on a small frame with its hyperparameters; a user's
module is held to its protocol with an error naming what is wrong; its own classes serve from
the model archive alone."""

from __future__ import annotations

import sys
import tarfile
import textwrap

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from pipelines import bundle
from pipelines.datasets import generate_churn
from pipelines.model_protocol import ModelProtocolError
from pipelines.model_spec import ALGORITHMS, VENDOR_PACKAGE, ModelSpec
from pipelines.schema import DatasetSchema
from pipelines.steps import inference
from pipelines.steps.preprocess import split_frame
from pipelines.steps.tabular import to_typed
from pipelines.steps.train import fit_model, model_metadata, save_model

REGRESSION = DatasetSchema.model_validate(
    {
        "target": "price",
        "problem_type": "regression",
        "features": [
            {"name": "size", "type": "numeric"},
            {"name": "city", "type": "categorical", "categories": ["a", "b"]},
        ],
    }
)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with threadpool_limits(1):  # OpenMP spinning crawls on a busy shared machine
        yield


def _forget_user_modules() -> None:
    for loaded in [m for m in sys.modules if m.split(".")[0] == VENDOR_PACKAGE]:
        del sys.modules[loaded]


@pytest.fixture(autouse=True)
def _fresh_user_package():
    """Each test imports its own user_model package, as each training job does."""
    _forget_user_modules()
    yield
    _forget_user_modules()


@pytest.fixture(scope="module")
def churn_splits(churn_schema):
    frame = to_typed(generate_churn(300, seed=7).astype(str).replace("nan", None), churn_schema)
    return split_frame(frame, churn_schema, seed=0)


def _regression_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    size = rng.uniform(10, 100, 200)
    city = rng.choice(["a", "b"], 200)
    price = 3 * size + (city == "b") * 50 + rng.normal(0, 5, 200)
    raw = pd.DataFrame({"size": size, "city": city, "price": price})
    return to_typed(raw.astype(str), REGRESSION)


SMALL = {
    "hist_gradient_boosting": {"max_iter": 15, "learning_rate": 0.2, "max_leaf_nodes": 8},
    "random_forest": {"n_estimators": 12, "max_depth": 4},
    "linear": {"l2": 0.5, "max_iter": 300},
}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_builtin_trains_and_serves_classification(
    algorithm, churn_schema, churn_splits, tmp_path
):
    spec = ModelSpec(algorithm=algorithm, hyperparameters=SMALL[algorithm])
    estimator = fit_model(churn_splits.train, churn_schema, spec, seed=3)
    model = estimator.named_steps["model"]
    configured = {k: v for k, v in SMALL[algorithm].items() if k != "l2"}
    assert {k: model.get_params()[k] for k in configured} == configured
    if algorithm == "linear":
        assert pytest.approx(2.0) == model.C  # l2 is the inverse of C
    save_model(estimator, model_metadata(churn_schema, spec, seed=3), tmp_path)
    served = inference.model_fn(str(tmp_path))
    assert served["metadata"]["algorithm"] == algorithm
    assert served["metadata"]["params"] == spec.builtin_params()
    rows = churn_splits.test.drop(columns=["churned"]).head(5)
    out = inference.predict_fn(rows, served)
    assert len(out) == 5 and all(set(p["probabilities"]) == {"0", "1"} for p in out)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_builtin_trains_a_regression(algorithm):
    frame = _regression_frame()
    estimator = fit_model(
        frame, REGRESSION, ModelSpec(algorithm=algorithm, hyperparameters=SMALL[algorithm])
    )
    predicted = estimator.predict(frame[["size", "city"]])
    assert np.corrcoef(predicted, frame["price"])[0, 1] > 0.9


def _user_module(tmp_path, monkeypatch, source: str, name: str = "model") -> ModelSpec:
    """`source` as user_model/<name>.py, importable as the bundle makes it."""
    package = tmp_path / "bundle" / VENDOR_PACKAGE
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path / "bundle"))
    return ModelSpec(entry_point=f"{VENDOR_PACKAGE}/{name}.py", hyperparameters={"k": 1})


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def train(train, validation, *, schema, params): ...\n", "has no function fit("),
        (
            "def fit(train, validation, *, schema, params):\n    return object()\n",
            "fit returned object, which lacks predict and predict_proba (a classification model)",
        ),
        (
            """
            class OnlyPredict:
                classes_ = ["0", "1"]
                def predict(self, X):
                    return ["0"] * len(X)
            def fit(train, validation, *, schema, params):
                return OnlyPredict()
            """,
            "fit returned OnlyPredict, which lacks predict_proba (a classification model)",
        ),
        (
            """
            class NoClasses:
                def predict(self, X):
                    return ["0"] * len(X)
                def predict_proba(self, X):
                    return [[0.5, 0.5]] * len(X)
            def fit(train, validation, *, schema, params):
                return NoClasses()
            """,
            "which has no classes_",
        ),
        (
            """
            class WrongShape:
                classes_ = ["0", "1"]
                def predict(self, X):
                    return ["0"] * len(X)
                def predict_proba(self, X):
                    return [[1.0]] * len(X)
            def fit(train, validation, *, schema, params):
                return WrongShape()
            """,
            "predict_proba gave shape (5, 1), expected (5, 2)",
        ),
        (
            "def fit(train, validation, *, schema, params):\n    raise KeyError(params['x'])\n",
            "user_model.model.fit raised KeyError: 'x' (model.py, line 2)",
        ),
        ("import not_installed_anywhere\n", "importing user_model.model failed: ModuleNotFound"),
    ],
)
def test_the_protocol_is_enforced_with_a_clear_error(
    source, message, tmp_path, monkeypatch, churn_schema, churn_splits
):
    spec = _user_module(tmp_path, monkeypatch, source)
    with pytest.raises(ModelProtocolError) as error:
        fit_model(churn_splits.train, churn_schema, spec, validation=churn_splits.validation)
    assert message in str(error.value)


def test_a_regression_model_needs_predict_only(tmp_path, monkeypatch):
    spec = _user_module(
        tmp_path,
        monkeypatch,
        """
        class Mean:
            def __init__(self, value):
                self.value = value
            def predict(self, X):
                return [self.value] * len(X)
        def fit(train, validation, *, schema, params):
            return Mean(float(train[schema.target].mean()))
        """,
    )
    assert fit_model(_regression_frame(), REGRESSION, spec).predict(pd.DataFrame({"a": [1]})) != []


def test_a_user_model_gets_the_frames_schema_and_params(
    tmp_path, monkeypatch, churn_schema, churn_splits
):
    spec = _user_module(
        tmp_path,
        monkeypatch,
        """
        seen = {}
        def fit(train, validation, *, schema, params):
            seen.update(rows=(len(train), len(validation)), schema=schema, params=params)
            raise RuntimeError("stop")
        """,
    )
    with pytest.raises(ModelProtocolError):
        fit_model(
            churn_splits.train, churn_schema, spec, validation=churn_splits.validation, seed=4
        )
    seen = sys.modules["user_model.model"].seen
    assert seen["rows"] == (len(churn_splits.train), len(churn_splits.validation))
    assert seen["schema"] == churn_schema and seen["params"] == {"seed": 4, "k": 1}


def test_the_example_model_serves_from_its_archive_alone(
    tmp_path, monkeypatch, churn_schema, churn_splits
):
    """The bundle vendors the example's folder as user_model; Train saves it under code/; the
    serving code unpickles the example's own class with nothing else importable."""
    example = bundle.PACKAGE_ROOT.parent / "examples" / "custom_model"
    archive = bundle.build_code_bundle(tmp_path / "out", model_folder=example)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert {"user_model/__init__.py", "user_model/churn_ensemble.py"} <= set(names)
        assert not [n for n in names if n.startswith("user_model/") and not n.endswith(".py")]
        tar.extractall(tmp_path / "code", filter="data")
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    spec = ModelSpec(
        entry_point="user_model/churn_ensemble.py", hyperparameters={"n_estimators": 10}
    )
    estimator = fit_model(
        churn_splits.train, churn_schema, spec, validation=churn_splits.validation
    )
    save_model(
        estimator,
        model_metadata(churn_schema, spec),
        tmp_path / "model",
        vendored=tmp_path / "code" / VENDOR_PACKAGE,
    )
    _forget_user_modules()
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path / "code")])
    served = inference.model_fn(str(tmp_path / "model"))
    assert type(served["estimator"]).__name__ == "AveragedProbabilities"
    assert VENDOR_PACKAGE not in sys.modules  # loaded, then taken out again
    rows = churn_splits.test.drop(columns=["churned"]).head(3)
    out = inference.predict_fn(rows, served)
    assert [p["score"] for p in out] == pytest.approx(
        list(estimator.predict_proba(inference.align_features(rows, served["metadata"]))[:, 1])
    )


def test_serving_and_the_spec_agree_on_the_package_name():
    assert inference.USER_PACKAGE == VENDOR_PACKAGE
