"""Prediction drift: the model's live answers against its answers on the test split.

The Evaluate step stores the test split's output profile in evaluation.json
(`prediction_baseline`); the monitoring step compares the window's captured outputs with it,
through the drift engine, so the decision rules are the same as for the features: class shares
and scores for classification, the predicted value for regression.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from pipelines.drift import DriftReport, ReferenceProfile, build_profile, check_drift
from pipelines.steps.predictions import output_kinds, outputs_frame

PREDICTION_DRIFT_PREFIX = "prediction_drift_"


def prediction_baseline(predictions: Sequence[Mapping[str, Any]], problem_type: str) -> dict:
    """What evaluation.json keeps of predict_fn's answers on the test split."""
    kinds = output_kinds(problem_type)
    frame = outputs_frame(predictions, problem_type)[list(kinds)]
    profile = build_profile([frame], kinds)
    return {"problem_type": problem_type, "profile": json.loads(profile.to_json())}


def baseline_profile(baseline: Mapping[str, Any]) -> ReferenceProfile:
    return ReferenceProfile.from_json(json.dumps(baseline["profile"]))


def check_prediction_drift(
    baseline: Mapping[str, Any],
    outputs: pd.DataFrame,
    *,
    default_threshold: float,
) -> DriftReport:
    """outputs: the output columns of the window's prediction rows (predictions.prediction_rows)."""
    profile = baseline_profile(baseline)
    columns = [c for c in profile.features if c in outputs.columns]
    return check_drift(profile, [outputs[columns]], default_threshold=default_threshold)


def prediction_drift_section(result: DriftReport) -> dict[str, Any]:
    out = result.to_dict()
    if result.n_current == 0:
        out["status"] = "no_data"
    elif not result.sufficient:
        out["status"] = "insufficient_data"  # too few answers to decide, as for the features
    else:
        out["status"] = "drift" if result.drifted_features else "ok"
    return out


def prediction_drift_values(result: DriftReport) -> dict[str, float]:
    """`prediction_drift_<output>`, valued as the features' metrics are (the engine's alarm
    value: the distance when significant, else 0); nothing from a window too small to decide."""
    if not result.sufficient:
        return {}
    return {
        PREDICTION_DRIFT_PREFIX + name: float(f.alarm_value)
        for name, f in result.features.items()
        if f.alarm_value is not None
    }
