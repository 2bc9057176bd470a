"""Fit a scikit-learn model for the schema and save it in the serving container's layout.

The estimator is a plain sklearn Pipeline (imputation, one-hot encoding, then the model) with no
custom classes, so unpickling it in the serving container needs sklearn only.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

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

from pipelines.schema import DatasetSchema
from pipelines.steps import inference

Algorithm = Literal["hist_gradient_boosting", "random_forest", "linear"]
ALGORITHMS: tuple[str, ...] = ("hist_gradient_boosting", "random_forest", "linear")


@dataclass(frozen=True)
class TrainParams:
    algorithm: Algorithm = "hist_gradient_boosting"
    max_iter: int = 200
    learning_rate: float = 0.1
    max_depth: int | None = None
    n_estimators: int = 200
    l2: float = 1.0
    seed: int = 0


def build_estimator(schema: DatasetSchema, params: TrainParams) -> Pipeline:
    numeric = [f.name for f in schema.features if f.type == "numeric"]
    categorical = [f.name for f in schema.features if f.type == "categorical"]
    linear = params.algorithm == "linear"
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
    return Pipeline([("features", columns), ("model", _model(schema, params))])


def _model(schema: DatasetSchema, params: TrainParams) -> Any:
    classify = schema.problem_type == "classification"
    if params.algorithm == "hist_gradient_boosting":
        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return cls(
            max_iter=params.max_iter,
            learning_rate=params.learning_rate,
            max_depth=params.max_depth,
            early_stopping=False,  # the validation split decides, not an inner random split
            random_state=params.seed,
        )
    if params.algorithm == "random_forest":
        cls = RandomForestClassifier if classify else RandomForestRegressor
        return cls(
            n_estimators=params.n_estimators, max_depth=params.max_depth, random_state=params.seed
        )
    if params.algorithm == "linear":
        if classify:
            return LogisticRegression(C=1.0 / params.l2, max_iter=1000)
        return Ridge(alpha=params.l2)
    raise ValueError(f"unknown algorithm {params.algorithm!r}; choose one of {ALGORITHMS}")


def fit_model(train: pd.DataFrame, schema: DatasetSchema, params: TrainParams) -> Pipeline:
    features = [f.name for f in schema.features]
    estimator = build_estimator(schema, params)
    estimator.fit(train[features], train[schema.target])
    return estimator


def model_metadata(
    schema: DatasetSchema, params: TrainParams, train: pd.DataFrame | None = None
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
        "params": asdict(params),
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


def save_model(estimator: Pipeline, metadata: dict[str, Any], model_dir: Path) -> Path:
    """Write model.joblib, metadata.json and the serving code under code/; SageMaker tars
    model_dir."""
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(estimator, model_dir / inference.MODEL_FILE)
    (model_dir / inference.METADATA_FILE).write_text(
        json.dumps(metadata, indent=2, sort_keys=True), encoding="utf-8"
    )
    code_dir = model_dir / "code"
    code_dir.mkdir(exist_ok=True)
    for source in inference.CODE_FILES:
        shutil.copyfile(source, code_dir / source.name)
    return model_dir
