"""Fit the configured model and save it in the serving container's layout.

A built-in algorithm is a plain sklearn Pipeline (imputation, one-hot encoding, then the model)
with no custom classes, so unpickling it in the serving container needs sklearn only. A user's
entry point is fitted through its protocol (pipelines/model_protocol.py), and its vendored
package is saved beside the model, where the serving code imports it from.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pipelines.model_protocol import fit_user_model
from pipelines.model_spec import ALGORITHMS, VENDOR_PACKAGE, ModelSpec, vendored_files
from pipelines.schema import DatasetSchema
from pipelines.steps import inference

__all__ = ["ALGORITHMS", "build_estimator", "fit_model", "model_metadata", "save_model"]


def build_estimator(schema: DatasetSchema, spec: ModelSpec, seed: int = 0) -> Pipeline:
    """The built-in algorithm of `spec` with its hyperparameters, behind the feature steps."""
    numeric = [f.name for f in schema.features if f.type == "numeric"]
    categorical = [f.name for f in schema.features if f.type == "categorical"]
    linear = spec.algorithm == "linear"
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if linear:
        numeric_steps.append(("scale", StandardScaler()))
    categorical_steps = [
        ("impute", SimpleImputer(strategy="constant", fill_value="__missing__")),
        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
    ]
    columns = ColumnTransformer(
        [
            ("numeric", Pipeline(numeric_steps), numeric),
            ("categorical", Pipeline(categorical_steps), categorical),
        ],
        remainder="drop",
    )
    model = _model(schema, spec.algorithm, spec.builtin_params(), seed)
    return Pipeline([("features", columns), ("model", model)])


def _model(schema: DatasetSchema, algorithm: str, params: dict[str, Any], seed: int) -> Any:
    classify = schema.problem_type == "classification"
    if algorithm == "hist_gradient_boosting":
        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        # The validation split decides, not an inner random split.
        return cls(**params, early_stopping=False, random_state=seed)
    if algorithm == "random_forest":
        cls = RandomForestClassifier if classify else RandomForestRegressor
        return cls(**params, random_state=seed)
    if algorithm == "linear":
        if classify:
            return LogisticRegression(C=1.0 / params["l2"], max_iter=params["max_iter"])
        return Ridge(alpha=params["l2"])
    raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {ALGORITHMS}")


def fit_model(
    train: pd.DataFrame,
    schema: DatasetSchema,
    spec: ModelSpec,
    *,
    validation: pd.DataFrame | None = None,
    seed: int = 0,
) -> Any:
    """The fitted estimator: the built-in algorithm, or the user's module through its protocol
    (importable as `spec.module_name`: the bundle's `user_model` package)."""
    if spec.module_name is not None:
        params = {"seed": seed, **spec.hyperparameters}
        empty = train.iloc[:0]
        return fit_user_model(
            spec.module_name, train, empty if validation is None else validation, schema, params
        )
    features = [f.name for f in schema.features]
    estimator = build_estimator(schema, spec, seed)
    estimator.fit(train[features], train[schema.target])
    return estimator


def model_metadata(
    schema: DatasetSchema,
    spec: ModelSpec,
    train: pd.DataFrame | None = None,
    *,
    seed: int = 0,
) -> dict[str, Any]:
    classes = list(schema.classes) if schema.classes else None
    return {
        "features": [f.name for f in schema.features],
        "feature_kinds": dict(schema.feature_kinds),
        "categories": serving_categories(schema, train),
        "target": schema.target,
        "problem_type": schema.problem_type,
        "classes": classes,
        # The last listed class is the positive one ("1" in "0","1"), as ROC AUC reports it.
        "positive_class": classes[-1] if classes else None,
        "algorithm": None if spec.entry_point else spec.algorithm,
        "entry_point": spec.module_name,
        "params": spec.builtin_params() if spec.entry_point is None else spec.hyperparameters,
        "seed": seed,
    }


def serving_categories(
    schema: DatasetSchema, train: pd.DataFrame | None
) -> dict[str, list[str] | None]:
    """Per categorical feature, the categories the endpoint accepts: the schema's, or when it
    lists none, those of the training frame (None without one: any text is accepted)."""
    out: dict[str, list[str] | None] = {}
    for feature in schema.features:
        if feature.type != "categorical":
            continue
        if feature.categories is not None:
            out[feature.name] = list(feature.categories)
        elif train is not None:
            out[feature.name] = sorted(str(v) for v in train[feature.name].dropna().unique())
        else:
            out[feature.name] = None
    return out


def save_model(
    estimator: Any,
    metadata: dict[str, Any],
    model_dir: Path,
    vendored: Path | None = None,
) -> Path:
    """Write model.joblib, metadata.json, the serving code under code/ and, for a user's model,
    its vendored package (`vendored`, the bundle's `user_model` folder) as code/user_model/,
    where inference.model_fn imports it from; SageMaker tars model_dir."""
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(estimator, model_dir / inference.MODEL_FILE)
    (model_dir / inference.METADATA_FILE).write_text(
        json.dumps(metadata, indent=2, sort_keys=True), encoding="utf-8"
    )
    code_dir = model_dir / "code"
    code_dir.mkdir(exist_ok=True)
    for source in inference.CODE_FILES:
        shutil.copyfile(source, code_dir / source.name)
    if metadata.get("entry_point"):
        if vendored is None or not vendored.is_dir():
            raise ValueError(f"the model's package {VENDOR_PACKAGE} is not in the code bundle")
        for rel, source in vendored_files(vendored):
            target = code_dir / VENDOR_PACKAGE / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return model_dir
