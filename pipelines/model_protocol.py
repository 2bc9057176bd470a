"""The protocol a user's training module implements (`model.entry_point` in the config).

    # models/my_model.py
    def fit(train, validation, *, schema, params):
        ...
        return estimator

`train` and `validation` are pandas DataFrames of the split, typed by the schema (numeric
features as floats, categorical ones as text, missing values as NaN), each holding the features
and the target column `schema.target`. `schema` is the dataset's `DatasetSchema`; `params` the
config's `model.hyperparameters` (a dict, as written in the JSON).

The estimator is what serves. It is saved with joblib and loaded again in Evaluate and in the
endpoint, and it is given a DataFrame of the features (in `schema.features` order, typed the
same way) and must answer:
- `predict(X)`: one value per row (the regression prediction, or the class label);
- for classification also `predict_proba(X)`: one row of probabilities per row, columns in the
  order of `classes_`, the class labels (as in the schema's `classes`).

Its classes must be importable when it is loaded: scikit-learn's, or the module's own, which
ship with it (see pipelines/model_spec.py for what is vendored and which libraries there are).
The package is importable while the estimator is unpickled, not afterwards: import at the top
of the module, not inside `predict`. `params` also holds `seed` (the run's split seed) unless
the hyperparameters set one.
Train checks all of this on the validation rows and fails naming what is missing.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from pipelines.schema import DatasetSchema


@runtime_checkable
class Estimator(Protocol):
    def predict(self, features: pd.DataFrame) -> Sequence[Any]: ...


@runtime_checkable
class Classifier(Estimator, Protocol):
    classes_: Sequence[Any]

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray: ...


class TrainingModule(Protocol):
    def fit(
        self,
        train: pd.DataFrame,
        validation: pd.DataFrame,
        *,
        schema: DatasetSchema,
        params: dict[str, Any],
    ) -> Estimator: ...


class ModelProtocolError(ValueError):
    """The user's module or its estimator does not follow the protocol; names what is wrong."""


def load_training_module(module_name: str) -> TrainingModule:
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - whatever the user's module raises on import
        raise ModelProtocolError(
            f"importing {module_name} failed: {type(error).__name__}: {error}"
        ) from error
    if not callable(getattr(module, "fit", None)):
        raise ModelProtocolError(
            f"{module_name} has no function fit(train, validation, *, schema, params); "
            "see pipelines/model_protocol.py"
        )
    return module  # type: ignore[return-value]


def fit_user_model(
    module_name: str,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    schema: DatasetSchema,
    params: dict[str, Any],
) -> Estimator:
    module = load_training_module(module_name)
    try:
        estimator = module.fit(train, validation, schema=schema, params=dict(params))
    except Exception as error:  # noqa: BLE001 - the user's code: report it, with where it failed
        where = traceback.extract_tb(error.__traceback__)[-1]
        raise ModelProtocolError(
            f"{module_name}.fit raised {type(error).__name__}: {error} "
            f"({where.filename.rsplit('/', 1)[-1]}, line {where.lineno})"
        ) from error
    check_estimator(estimator, schema, validation if len(validation) else train, module_name)
    return estimator


def check_estimator(
    estimator: Any, schema: DatasetSchema, sample: pd.DataFrame, source: str
) -> None:
    """The estimator answers what the serving code asks, on a few of the given rows."""
    what = f"{source}.fit returned {type(estimator).__name__}"
    classify = schema.problem_type == "classification"
    needed = ("predict", "predict_proba") if classify else ("predict",)
    missing = [name for name in needed if not callable(getattr(estimator, name, None))]
    if missing:
        kind = "a classification" if classify else "a regression"
        raise ModelProtocolError(f"{what}, which lacks {' and '.join(missing)} ({kind} model)")
    rows = sample[[f.name for f in schema.features]].head(5).reset_index(drop=True)
    predictions = _call(estimator.predict, rows, f"{what}: predict")
    if len(np.asarray(predictions).reshape(len(rows), -1)) != len(rows):
        raise ModelProtocolError(f"{what}: predict gave {len(predictions)} values for {len(rows)}")
    if not classify:
        return
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        raise ModelProtocolError(f"{what}, which has no classes_ (predict_proba's column labels)")
    labels = [str(c) for c in classes]
    if schema.classes and set(labels) != set(schema.classes):
        raise ModelProtocolError(
            f"{what}: classes_ {labels} are not the schema's classes {list(schema.classes)}"
        )
    proba = np.asarray(_call(estimator.predict_proba, rows, f"{what}: predict_proba"), float)
    if proba.shape != (len(rows), len(labels)):
        raise ModelProtocolError(
            f"{what}: predict_proba gave shape {proba.shape}, expected "
            f"({len(rows)}, {len(labels)}) (a row per input, a column per class)"
        )
    if not np.isfinite(proba).all() or not np.allclose(proba.sum(axis=1), 1.0, atol=1e-6):
        raise ModelProtocolError(f"{what}: predict_proba rows are not probabilities summing to 1")


def _call(method: Any, rows: pd.DataFrame, what: str) -> Any:
    try:
        return method(rows)
    except Exception as error:  # noqa: BLE001 - the user's estimator
        raise ModelProtocolError(f"{what} raised {type(error).__name__}: {error}") from error
