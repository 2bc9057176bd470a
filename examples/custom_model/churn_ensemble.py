"""A model of one's own: the average of a logistic regression and a random forest.

The training protocol (pipelines/model_protocol.py): `fit` gets the train and validation
frames, the dataset schema and the config's `model.hyperparameters` (plus `seed`), and returns
an estimator with `predict`, `predict_proba` and `classes_`. Everything this file imports is
the standard library or in the scikit-learn image; its own classes (AveragedProbabilities) ship
with it, in the model archive, so the endpoint unpickles them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


class AveragedProbabilities:
    """Averages the class probabilities of fitted classifiers that share their classes."""

    def __init__(self, members: list[Any]) -> None:
        self.members = members
        self.classes_ = members[0].classes_

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return np.mean([member.predict_proba(features) for member in self.members], axis=0)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(features), axis=1)]


def _features(schema: Any) -> ColumnTransformer:
    numeric = [f.name for f in schema.features if f.type == "numeric"]
    categorical = [f.name for f in schema.features if f.type == "categorical"]
    return ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="__missing__"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
        ]
    )


def fit(
    train: pd.DataFrame, validation: pd.DataFrame, *, schema: Any, params: dict[str, Any]
) -> AveragedProbabilities:
    if schema.problem_type != "classification":
        raise ValueError("this model classifies; choose a built-in algorithm for regression")
    features = [f.name for f in schema.features]
    X, y = train[features], train[schema.target]
    linear = Pipeline(
        [("features", _features(schema)), ("model", LogisticRegression(C=params.get("C", 1.0)))]
    )
    forest = Pipeline(
        [
            ("features", _features(schema)),
            (
                "model",
                RandomForestClassifier(
                    n_estimators=params.get("n_estimators", 100),
                    min_samples_leaf=params.get("min_samples_leaf", 5),
                    random_state=params.get("seed", 0),
                ),
            ),
        ]
    )
    return AveragedProbabilities([linear.fit(X, y), forest.fit(X, y)])
