"""Model quality from ground truth: the live model's metrics on its labelled predictions.

The run measures the predictions of the look-back (the last `lookback_hours` before the window
end, and none before the live model was deployed) with every label uploaded for them so far, so
a label that arrives hours after its prediction still counts, in the window of its prediction
(the per-window table says how many labels came late). Fewer labelled rows than
`min_labelled_rows` gives no metric at all: the alarm sees missing data, never a noisy value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from pipelines.metric_names import model_quality_metric
from pipelines.steps import evaluate
from pipelines.steps.ground_truth import ACTUAL, MergedLabels
from pipelines.steps.predictions import PREDICTED_LABEL, PREDICTION, PROBABILITIES, SCORE

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
STATUS_INSUFFICIENT = "insufficient_data"


def quality_metrics(
    labelled: pd.DataFrame,
    problem_type: str,
    classes: Sequence[str] | None,
    positive: str | None,
) -> dict[str, float]:
    """The standard set for the problem type, each computed by the Evaluate step's scorers;
    metrics undefined on these rows (AUC of a single class) are left out."""
    if len(labelled) == 0:
        return {}
    if problem_type == "regression":
        y = labelled[ACTUAL].astype(float).to_numpy()
        pred = labelled[PREDICTION].astype(float).to_numpy()
        names = [m for m in evaluate.REGRESSION_METRICS if m != "r2" or len(y) > 1]
        return {m: evaluate.regression_score(m, y, pred) for m in names}
    y = labelled[ACTUAL].astype(str).to_numpy()
    labels = list(classes) if classes else sorted(set(y) | set(labelled[PREDICTED_LABEL]))
    proba, calibrated = _probabilities(labelled, labels, positive)
    binary = len(labels) == 2
    out = {}
    for name in evaluate.CLASSIFICATION_METRICS:
        if name in ("roc_auc", "log_loss") and not calibrated:
            continue  # only the predicted labels were captured (multiclass CSV answers)
        if name == "roc_auc" and len(set(y)) < 2:
            continue
        out[name] = evaluate.classification_score(
            name, y, proba, labels, positive if binary else None
        )
    return out


def _probabilities(
    frame: pd.DataFrame, labels: list[str], positive: str | None
) -> tuple[np.ndarray, bool]:
    """A column per label: from JSON answers' probabilities, from the positive class's score of
    a binary model, or (no scores) one-hot from the predicted label."""
    probs = frame[PROBABILITIES].tolist() if PROBABILITIES in frame else []
    if probs and all(isinstance(p, dict) for p in probs):
        return np.array([[float(p.get(lab, 0.0)) for lab in labels] for p in probs]), True
    if len(labels) == 2 and positive in labels:
        score = frame[SCORE].astype(float).to_numpy()
        pos = labels.index(positive)
        out = np.empty((len(frame), 2))
        out[:, pos], out[:, 1 - pos] = score, 1.0 - score
        return out, True
    predicted = frame[PREDICTED_LABEL].astype(str).to_numpy()
    return np.array([[float(p == lab) for lab in labels] for p in predicted]), False


def usable_labels(
    frame: pd.DataFrame, problem_type: str, classes: Sequence[str] | None
) -> tuple[pd.DataFrame, int]:
    """The labelled rows whose label fits the problem (a known class, a number); and how many
    labels did not."""
    labelled = frame[frame[ACTUAL].notna()]
    if problem_type == "regression":
        ok = pd.to_numeric(labelled[ACTUAL], errors="coerce").notna()
    elif classes:
        ok = labelled[ACTUAL].astype(str).isin(list(classes))
    else:
        ok = pd.Series(True, index=labelled.index)
    return labelled[ok], int((~ok).sum())


def window_ends(times: pd.Series, end: datetime, minutes: int) -> pd.Series:
    """The end of the monitoring window each time falls in (windows of `minutes` up to end)."""
    step = pd.Timedelta(minutes=minutes)
    stamp = pd.Timestamp(end)
    back = ((stamp - pd.to_datetime(times, utc=True)) / step).apply(np.ceil).astype(int)
    return stamp - (back - 1) * step


def model_quality_section(
    merged: MergedLabels,
    *,
    problem_type: str,
    metric: str,
    classes: Sequence[str] | None,
    positive: str | None,
    min_labelled_rows: int,
    window_minutes: int,
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    """The report's model-quality section; `value` is what is published (None: nothing)."""
    labelled, n_bad = usable_labels(merged.frame, problem_type, classes)
    metrics = quality_metrics(labelled, problem_type, classes, positive)
    enough = len(labelled) >= min_labelled_rows and metric in metrics
    section: dict[str, Any] = {
        **merged.to_dict(),
        "lookback_start": start.strftime(TIME_FORMAT),
        "lookback_end": end.strftime(TIME_FORMAT),
        "metric": metric,
        "n_labelled_rows": len(labelled),
        "n_unusable_labels": n_bad,
        "min_labelled_rows": min_labelled_rows,
        "metrics": metrics,
        "value": metrics.get(metric) if enough else None,
        "status": "ok" if enough else STATUS_INSUFFICIENT,
        "windows": _windows(merged.frame, labelled, end, window_minutes),
    }
    if len(labelled):  # each window's own value, where it has enough labels of its own
        ends = window_ends(labelled["inference_time"], end, window_minutes)
        for window in section["windows"]:
            rows = labelled[ends.to_numpy() == pd.Timestamp(window["window_end"])]
            own = quality_metrics(rows, problem_type, classes, positive).get(metric)
            window["value"] = own if len(rows) >= min_labelled_rows else None
    if not enough:
        section["message"] = (
            f"{len(labelled)} labelled rows, fewer than the {min_labelled_rows} required: "
            f"no {model_quality_metric(metric)} published"
            if len(labelled) < min_labelled_rows
            else f"{metric} is undefined on the labelled rows"
        )
    return section


def _windows(
    frame: pd.DataFrame, labelled: pd.DataFrame, end: datetime, minutes: int
) -> list[dict[str, Any]]:
    """Per window of predictions: predictions, labels, and labels uploaded after the window."""
    if len(frame) == 0:
        return []
    ends = window_ends(frame["inference_time"], end, minutes)
    is_labelled = frame.index.isin(labelled.index)
    at = pd.to_datetime(frame["labelled_at"], utc=True)
    late = is_labelled & (at > ends).fillna(False).to_numpy()
    table = pd.DataFrame({"end": ends, "labelled": is_labelled, "late": late})
    out = []
    for window_end, group in table.groupby("end", sort=True):
        out.append(
            {
                "window_start": (window_end - timedelta(minutes=minutes)).strftime(TIME_FORMAT),
                "window_end": window_end.strftime(TIME_FORMAT),
                "n_predictions": len(group),
                "n_labelled_rows": int(group["labelled"].sum()),
                "n_late_labels": int(group["late"].sum()),
            }
        )
    return out
