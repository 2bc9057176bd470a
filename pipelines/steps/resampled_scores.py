"""The metrics Evaluate reports, in numpy, fast enough to score a thousand bootstrap resamples.

scikit-learn's metric functions check their arguments on every call (1 to 20 ms each on a busy
machine), which makes a 1000-resample interval take 5 to 20 seconds; these give the same values
(checked against scikit-learn in tests/unit/pipelines/test_metric_interval.py) 25 to 45 times
faster. A metric without a version here (multi-class ROC AUC) is scored by scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

Scorer = Callable[[np.ndarray, np.ndarray], float]


def classification_scorer(metric: str, labels: list[str], positive: str | None) -> Scorer | None:
    """y: the true labels (text); pred: probabilities, one column per label."""
    names = np.asarray(labels)

    def predicted(proba: np.ndarray) -> np.ndarray:
        return names[proba.argmax(axis=1)]

    if metric == "accuracy":
        return lambda y, proba: float(np.mean(y == predicted(proba)))
    if metric == "roc_auc":
        if positive is None:
            return None
        column = labels.index(positive)
        return lambda y, proba: _binary_auc(y == positive, proba[:, column])
    if metric == "log_loss":
        return lambda y, proba: _log_loss(y, proba, names)
    if metric in ("f1", "precision", "recall"):
        return lambda y, proba: _counted(metric, y, predicted(proba), labels, positive)
    return None


def regression_scorer(metric: str) -> Scorer:
    def score(y: np.ndarray, pred: np.ndarray) -> float:
        error = y - pred
        if metric == "mae":
            return float(np.mean(np.abs(error)))
        mse = float(np.mean(error**2))
        if metric == "mse":
            return mse
        if metric == "rmse":
            return float(np.sqrt(mse))
        total = float(np.sum((y - y.mean()) ** 2))
        if total == 0.0:  # scikit-learn's r2 of a constant target: 1 when perfect, else 0
            return 1.0 if mse == 0.0 else 0.0
        return 1.0 - float(np.sum(error**2)) / total

    return score


def _binary_auc(is_positive: np.ndarray, score: np.ndarray) -> float:
    """The Mann-Whitney form of ROC AUC (ties count a half, as in scikit-learn)."""
    positives = int(is_positive.sum())
    negatives = len(is_positive) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("ROC AUC is undefined with a single class")
    ranks = rankdata(score)
    return float(
        (ranks[is_positive].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    )


def _log_loss(y: np.ndarray, proba: np.ndarray, names: np.ndarray) -> float:
    eps = np.finfo(proba.dtype).eps
    clipped = np.clip(proba, eps, 1 - eps)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    index = np.searchsorted(names, y, sorter=np.argsort(names))
    column = np.argsort(names)[index]
    return float(-np.mean(np.log(clipped[np.arange(len(y)), column])))


def _counted(
    metric: str, y: np.ndarray, pred: np.ndarray, labels: list[str], positive: str | None
) -> float:
    """Binary on the positive class, else the macro average over the labels that occur (as
    scikit-learn averages without `labels`); 0 where a denominator is 0 (zero_division=0)."""
    present = set(y.tolist()) | set(pred.tolist())
    classes = [positive] if positive is not None else [c for c in labels if c in present]
    values = []
    for label in classes:
        tp = float(np.sum((pred == label) & (y == label)))
        fp = float(np.sum((pred == label) & (y != label)))
        fn = float(np.sum((pred != label) & (y == label)))
        if metric == "precision":
            values.append(tp / (tp + fp) if tp + fp else 0.0)
        elif metric == "recall":
            values.append(tp / (tp + fn) if tp + fn else 0.0)
        else:
            values.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(values))
