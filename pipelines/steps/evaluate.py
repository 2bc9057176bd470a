"""Model metrics on the test split, in SageMaker's model-quality JSON format.

The file has SageMaker's section for the problem (`binary_classification_metrics`,
`multiclass_classification_metrics` or `regression_metrics`, each metric as `{"value",
"standard_deviation"}`) which the registry shows, plus an `objective` block that the pipeline's
Condition reads with JsonGet: the configured metric, its sample size and bootstrap confidence
interval, the gate value (the metric, or its unfavourable bound: condition.py), and how much worse
it is than the live model.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from pipelines.metrics import greater_is_better, metrics_for
from pipelines.schema import DatasetSchema
from pipelines.steps import inference, resampled_scores
from pipelines.steps.condition import Gate, compare_with_live, decide_condition, gate_value
from pipelines.steps.prediction_drift import prediction_baseline

CLASSIFICATION_METRICS = metrics_for("classification")
REGRESSION_METRICS = metrics_for("regression")
# JsonGet paths the training pipeline's Condition reads.
OBJECTIVE_VALUE_PATH = "objective.value"
OBJECTIVE_REGRESSION_PATH = "objective.regression_vs_live"
OBJECTIVE_GATE_PATH = "objective.gate_value"
_BOOTSTRAP_ROUNDS = 20  # the standard deviations of every metric, for the registry's display
# The configured metric's interval: percentiles of 1000 resamples move by about 0.003 of a share
# metric between seeds on 200 rows, well under the intervals themselves (about 0.1 there).
INTERVAL_RESAMPLES = 1000


def check_metric(metric: str, schema: DatasetSchema) -> None:
    allowed = (
        CLASSIFICATION_METRICS if schema.problem_type == "classification" else REGRESSION_METRICS
    )
    if metric not in allowed:
        raise ValueError(f"metric {metric!r} does not apply to {schema.problem_type}: {allowed}")


def evaluate_model(
    model: dict[str, Any],
    test: pd.DataFrame,
    schema: DatasetSchema,
    *,
    metric: str,
    threshold: float,
    tolerance: float,
    live_value: float | None,
    seed: int = 0,
    gate: Gate = "point",
    confidence: float = 0.95,
) -> dict[str, Any]:
    check_metric(metric, schema)
    out = predict_split(model, test, schema)
    if out.labels is None:
        section, scores = "regression_metrics", _regression(out.y, out.scores, seed)
        objective = (resampled_scores.regression_scorer(metric), out.y, out.scores)
    else:
        binary = len(out.labels) == 2
        section = "binary_classification_metrics" if binary else "multiclass_classification_metrics"
        scores = _classification(out.y, out.scores, out.labels, out.positive, seed)
        objective = (_scorer(metric, out.labels, out.positive), out.y, out.scores)
    if metric not in scores:
        raise ValueError(f"metric {metric} is undefined on this test set (a single class?)")
    value, std = scores[metric]["value"], scores[metric]["standard_deviation"]
    better = greater_is_better(metric)
    interval = bootstrap_interval(*objective, confidence=confidence, seed=seed)
    gated = gate_value(value, interval, gate=gate, greater_is_better=better)
    regression = compare_with_live(value, live_value, better)
    decision = decide_condition(
        value=value,
        threshold=threshold,
        regression=regression,
        tolerance=tolerance,
        greater_is_better=better,
        live_value=live_value,
        gate=gate,
        gated=gated,
        confidence=confidence,
    )
    lower, upper = interval if interval is not None else (None, None)
    return {
        section: scores,
        # The outputs on the test split: what prediction drift compares live answers with.
        "prediction_baseline": prediction_baseline(out.predictions, schema.problem_type),
        "objective": {
            "name": metric,
            "value": value,
            "value_text": f"{value:.6f}",  # the registry's metadata values are strings
            "standard_deviation": std,
            "sample_size": len(test),
            "sample_size_text": str(len(test)),
            "confidence": confidence,
            "confidence_interval": {"lower": lower, "upper": upper},
            # The registry's metadata values are strings; "undefined" when no resample was.
            "lower_text": "undefined" if lower is None else f"{lower:.6f}",
            "upper_text": "undefined" if upper is None else f"{upper:.6f}",
            "interval_method": f"percentile bootstrap, {INTERVAL_RESAMPLES} resamples, seed {seed}",
            "gate": gate,
            "gate_value": gated,
            "greater_is_better": better,
            "threshold": threshold,
            "tolerance": tolerance,
            "live_value": live_value,
            "first_model": live_value is None,
            "regression_vs_live": regression,
            "passed": decision.passed,
            "reasons": decision.reasons,
        },
        "n_test_rows": len(test),
    }


@dataclass
class SplitPredictions:
    """A model's answers on the test rows, as its metrics take them."""

    predictions: list[dict[str, Any]]  # as the endpoint answers
    y: np.ndarray  # the target: floats (regression) or class labels as text
    scores: np.ndarray  # predicted values, or one probability column per label
    labels: list[str] | None  # classification: the labels of the columns of `scores`
    positive: str | None  # binary classification: the positive class; else None


def predict_split(
    model: dict[str, Any], test: pd.DataFrame, schema: DatasetSchema
) -> SplitPredictions:
    # A held-out row may hold a category the training split never saw: the endpoint refuses it
    # (serving_features.py), but the estimator scores it (its encoder ignores unknown ones).
    scoring = {**model, "metadata": {**model["metadata"], "categories": {}}}
    predictions = inference.predict_fn(test[[f.name for f in schema.features]], scoring)
    y = test[schema.target]
    if schema.problem_type == "regression":
        y_pred = np.array([p["prediction"] for p in predictions])
        return SplitPredictions(predictions, y.to_numpy(float), y_pred, None, None)
    labels = list(predictions[0]["probabilities"]) if predictions else []
    proba = np.array([[p["probabilities"][lab] for lab in labels] for p in predictions])
    positive = model["metadata"].get("positive_class") or (labels[-1] if labels else None)
    binary = len(labels) == 2
    return SplitPredictions(
        predictions, y.astype(str).to_numpy(), proba, labels, positive if binary else None
    )


def metric_on(
    model: dict[str, Any], test: pd.DataFrame, schema: DatasetSchema, metric: str
) -> float:
    """The configured metric of any loaded model on these rows: how the live model is scored on
    the test split a new one is judged on, so the two are compared on the same rows."""
    check_metric(metric, schema)
    out = predict_split(model, test, schema)
    if out.labels is None:
        return regression_score(metric, out.y, out.scores)
    return classification_score(metric, out.y, out.scores, out.labels, out.positive)


def classification_score(
    metric: str, y: np.ndarray, proba: np.ndarray, labels: list[str], positive: str | None
) -> float:
    """One classification metric: proba has a column per label; positive is None unless binary."""
    return _classification_scorer(metric, labels, positive)(y, proba)


def regression_score(metric: str, y: np.ndarray, y_pred: np.ndarray) -> float:
    return float(resampled_scores.regression_scorer(metric)(y, y_pred))


def _classification(
    y: np.ndarray, proba: np.ndarray, labels: list[str], positive: str | None, seed: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in CLASSIFICATION_METRICS:
        if name == "roc_auc" and len(set(y)) < 2:
            continue  # undefined on a single-class test set
        scorer = _scorer(name, labels, positive)
        out[name] = _measure(scorer, y, proba, seed)
    y_pred = np.array(labels)[proba.argmax(axis=1)]
    matrix = skm.confusion_matrix(y, y_pred, labels=labels)
    out["confusion_matrix"] = {
        actual: {pred: int(matrix[i, j]) for j, pred in enumerate(labels)}
        for i, actual in enumerate(labels)
    }
    return out


def _auc(y: np.ndarray, proba: np.ndarray, labels: list[str], positive: str | None) -> float:
    if positive is not None:
        return float(skm.roc_auc_score(y == positive, proba[:, labels.index(positive)]))
    return float(skm.roc_auc_score(y, proba, multi_class="ovr", labels=labels))


def _scorer(metric: str, labels: list[str], positive: str | None) -> resampled_scores.Scorer:
    """The numpy version where there is one (same values, a fraction of the time), else
    scikit-learn's."""
    fast = resampled_scores.classification_scorer(metric, labels, positive)
    return fast or _classification_scorer(metric, labels, positive)


def _classification_scorer(
    metric: str, labels: list[str], positive: str | None
) -> Callable[[np.ndarray, np.ndarray], float]:
    def score(y: np.ndarray, proba: np.ndarray) -> float:
        if metric == "roc_auc":
            return _auc(y, proba, labels, positive)
        if metric == "log_loss":
            return float(skm.log_loss(y, proba, labels=labels))
        y_pred = np.array(labels)[proba.argmax(axis=1)]
        if metric == "accuracy":
            return float(skm.accuracy_score(y, y_pred))
        average = "binary" if positive is not None else "macro"
        kw = {"pos_label": positive} if positive is not None else {}
        fn = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}
        return float(fn[metric](y, y_pred, average=average, zero_division=0, **kw))

    return score


def _regression(y: np.ndarray, y_pred: np.ndarray, seed: int) -> dict[str, Any]:
    return {
        n: _measure(resampled_scores.regression_scorer(n), y, y_pred, seed)
        for n in REGRESSION_METRICS
    }


def _bootstrap_std(
    scorer: Callable[[np.ndarray, np.ndarray], float], y: np.ndarray, pred: np.ndarray, seed: int
) -> float:
    """Spread of the metric over resamples of the test set: how much to trust a small gap."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(_BOOTSTRAP_ROUNDS):
        idx = rng.integers(0, len(y), len(y))
        try:
            values.append(scorer(y[idx], pred[idx]))
        except ValueError:  # a resample with a single class has no AUC
            continue
    return float(np.std(values)) if len(values) > 1 else 0.0


def _measure(
    scorer: Callable[[np.ndarray, np.ndarray], float], y: np.ndarray, pred: np.ndarray, seed: int
) -> dict[str, float]:
    return {"value": scorer(y, pred), "standard_deviation": _bootstrap_std(scorer, y, pred, seed)}


def bootstrap_interval(
    scorer: Callable[[np.ndarray, np.ndarray], float],
    y: np.ndarray,
    pred: np.ndarray,
    *,
    confidence: float,
    seed: int,
    resamples: int = INTERVAL_RESAMPLES,
) -> tuple[float, float] | None:
    """The percentile bootstrap interval of the metric over resamples of the test rows (with
    replacement, seeded), or None when the metric is undefined on every resample.

    Not scipy.stats.bootstrap: a resample where the metric is undefined (a single class has no
    ROC AUC, common on a small test set) must be left out, where scipy's interval becomes NaN.
    tests/unit/pipelines/test_metric_interval.py checks it against scipy where both apply.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    values = []
    with warnings.catch_warnings():
        # scikit-learn warns, then answers NaN, where a metric is undefined: left out below.
        warnings.simplefilter("ignore")
        for _ in range(resamples):
            idx = rng.integers(0, n, n)
            try:
                value = scorer(y[idx], pred[idx])
            except ValueError:  # undefined on this resample
                continue
            if np.isfinite(value):
                values.append(value)
    if not values:
        return None
    alpha = (1.0 - confidence) / 2.0
    lower, upper = np.quantile(np.asarray(values), [alpha, 1.0 - alpha])
    return float(lower), float(upper)
