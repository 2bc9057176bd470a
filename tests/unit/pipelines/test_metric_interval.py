"""The registered metric carries its sample size and a seeded bootstrap confidence interval;
the gate can check the threshold against the interval's unfavourable bound."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from pipelines.steps import resampled_scores
from pipelines.steps.condition import UNDEFINED_BOUND, decide_condition, gate_value
from pipelines.steps.evaluate import _classification_scorer, bootstrap_interval, evaluate_model


def _accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(y == pred))


def _labels(n: int, accuracy: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < accuracy, y, 1 - y)
    return y, pred


def test_the_interval_agrees_with_scipys_bootstrap_and_is_deterministic():
    y, pred = _labels(200, 0.8, seed=1)
    ours = bootstrap_interval(_accuracy, y, pred, confidence=0.95, seed=7, resamples=4000)
    assert ours == bootstrap_interval(_accuracy, y, pred, confidence=0.95, seed=7, resamples=4000)
    reference = stats.bootstrap(
        (y, pred),
        _accuracy,
        paired=True,
        vectorized=False,
        n_resamples=4000,
        confidence_level=0.95,
        method="percentile",
        rng=np.random.default_rng(11),
    ).confidence_interval
    # Two independent Monte Carlo estimates of the same percentiles: within 0.015 of a share.
    assert ours[0] == pytest.approx(reference.low, abs=0.015)
    assert ours[1] == pytest.approx(reference.high, abs=0.015)
    # And both match the normal approximation of a proportion's interval on 200 rows.
    p = _accuracy(y, pred)
    half = 1.96 * np.sqrt(p * (1 - p) / len(y))
    assert ours == pytest.approx((p - half, p + half), abs=0.02)


def test_a_smaller_test_set_gets_a_wider_interval():
    widths = []
    for n in (40, 400):
        y, pred = _labels(n, 0.8, seed=2)
        low, high = bootstrap_interval(_accuracy, y, pred, confidence=0.9, seed=0)
        widths.append(high - low)
    assert widths[0] > 2.5 * widths[1]


def test_resamples_where_the_metric_is_undefined_are_left_out():
    # 10 rows, one positive: most resamples hold no positive, where ROC AUC is undefined.
    y = np.array(["0"] * 9 + ["1"])
    proba = np.c_[1 - np.linspace(0.0, 1.0, 10), np.linspace(0.0, 1.0, 10)]
    raises = resampled_scores.classification_scorer("roc_auc", ["0", "1"], "1")

    def answers_nan(yy: np.ndarray, pp: np.ndarray) -> float:  # scikit-learn's way
        return float("nan") if len(set(yy)) < 2 else raises(yy, pp)

    for auc in (raises, answers_nan):
        low, high = bootstrap_interval(auc, y, proba, confidence=0.95, seed=0)
        assert low == high == 1.0  # every defined resample ranks the positive first
        assert bootstrap_interval(auc, y[:5], proba[:5], confidence=0.95, seed=0) is None


@pytest.fixture(scope="module")
def evaluated(churn_model, churn_schema):
    model, splits, _ = churn_model
    small = splits.test.head(40)

    @functools.cache
    def run(gate: str, threshold: float, metric: str = "roc_auc") -> dict:
        return evaluate_model(
            model,
            small,
            churn_schema,
            metric=metric,
            threshold=threshold,
            tolerance=0.0,
            live_value=None,
            seed=5,
            gate=gate,
            confidence=0.9,
        )

    return run


def test_the_objective_carries_sample_size_and_interval(evaluated):
    objective = evaluated("point", 0.5)["objective"]
    low, high = objective["confidence_interval"]["lower"], objective["confidence_interval"]["upper"]
    assert objective["sample_size"] == 40 and objective["sample_size_text"] == "40"
    assert low < objective["value"] < high and objective["confidence"] == 0.9
    assert objective["lower_text"] == f"{low:.6f}" and objective["upper_text"] == f"{high:.6f}"
    assert objective["gate"] == "point" and objective["gate_value"] == objective["value"]
    assert evaluated.__wrapped__("point", 0.5)["objective"] == objective  # seeded: the same


def test_the_lower_bound_gate_refuses_what_the_point_gate_passes(evaluated):
    point = evaluated("point", 0.5)["objective"]
    low = point["confidence_interval"]["lower"]
    between = (low + point["value"]) / 2
    assert evaluated("point", between)["objective"]["passed"]
    gated = evaluated("lower_bound", between)["objective"]
    assert not gated["passed"] and gated["gate_value"] == low
    assert gated["reasons"] == [
        f"the 90% lower bound {low:.4f} of metric {point['value']:.4f} is below the threshold "
        f"{between:.4f}"
    ]


def test_for_an_error_metric_the_gate_is_the_upper_bound(evaluated):
    point = evaluated("point", 1.0, "log_loss")["objective"]
    assert not point["greater_is_better"]
    high = point["confidence_interval"]["upper"]
    between = (point["value"] + high) / 2
    assert evaluated("point", between, "log_loss")["objective"]["passed"]
    gated = evaluated("lower_bound", between, "log_loss")["objective"]
    assert gated["gate_value"] == high and not gated["passed"]
    assert "upper bound" in gated["reasons"][0] and "above the threshold" in gated["reasons"][0]


def test_gate_value_picks_the_unfavourable_bound_and_fails_an_undefined_one():
    assert gate_value(0.8, (0.7, 0.9), gate="point", greater_is_better=True) == 0.8
    assert gate_value(0.8, (0.7, 0.9), gate="lower_bound", greater_is_better=True) == 0.7
    assert gate_value(3.0, (2.0, 4.0), gate="lower_bound", greater_is_better=False) == 4.0
    undefined = gate_value(0.8, None, gate="lower_bound", greater_is_better=True)
    decision = decide_condition(
        value=0.8,
        threshold=0.0,
        regression=0.0,
        tolerance=0.0,
        greater_is_better=True,
        gate="lower_bound",
        gated=undefined,
    )
    assert undefined == -UNDEFINED_BOUND and not decision.passed
    assert "has no confidence interval" in decision.reasons[0]


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("metric", ["accuracy", "roc_auc", "log_loss", "f1", "precision", "recall"])
def test_the_resampling_scorers_equal_scikit_learns(metric, classes):
    rng = np.random.default_rng(classes)
    labels = [str(i) for i in range(classes)]
    proba = rng.dirichlet(np.ones(classes), 120)
    y = np.array(labels)[rng.integers(0, classes, 120)]
    positive = labels[-1] if classes == 2 else None
    fast = resampled_scores.classification_scorer(metric, labels, positive)
    if fast is None:
        assert metric == "roc_auc" and classes == 3  # scored by scikit-learn
        return
    reference = _classification_scorer(metric, labels, positive)
    for idx in (np.arange(120), rng.integers(0, 120, 120), np.arange(10)):
        assert fast(y[idx], proba[idx]) == pytest.approx(reference(y[idx], proba[idx]), abs=1e-12)


@pytest.mark.parametrize("metric", ["rmse", "mse", "mae", "r2"])
def test_the_resampling_regression_scorers_equal_scikit_learns(metric):
    rng = np.random.default_rng(0)
    y, pred = rng.normal(size=50), rng.normal(size=50)
    fast = resampled_scores.regression_scorer(metric)
    reference = {
        "rmse": lambda a, b: np.sqrt(skm.mean_squared_error(a, b)),
        "mse": skm.mean_squared_error,
        "mae": skm.mean_absolute_error,
        "r2": skm.r2_score,
    }[metric]
    assert fast(y, pred) == pytest.approx(reference(y, pred), abs=1e-12)
    assert fast(np.ones(5), np.ones(5)) == reference(np.ones(5), np.ones(5))
