"""The drift decision against exact scipy values, and the rules that keep small windows quiet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance
from sklearn.datasets import load_breast_cancer, load_wine

from infra.config import DriftConfig
from pipelines.drift import build_profile, check_drift
from pipelines.drift.check import DEFAULT_CONFIDENCE, DEFAULT_MIN_ROWS
from pipelines.drift.decision import chi2_pvalue, holm_adjusted, ks_pvalue, pooled_table

rng = np.random.default_rng(21)


def _report(ref: pd.DataFrame, cur: pd.DataFrame, kinds: dict[str, str], **kw: object):
    return check_drift(build_profile([ref], kinds), [cur], **kw)  # type: ignore[arg-type]


def test_ks_on_integers_is_scipys_statistic_and_p_value() -> None:
    # integers: every bin of the reference grid holds one value, so the statistic is exact
    ref = rng.poisson(20, 3000).astype(float)
    cur = rng.poisson(21, 80).astype(float)
    f = _report(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), {"x": "numeric"}).features["x"]
    exact = stats.ks_2samp(ref, cur, method="asymp")
    assert f.test == "ks" and f.ks == pytest.approx(exact.statistic, abs=1e-12)
    assert f.p_value == pytest.approx(exact.pvalue, rel=1e-9)


@pytest.mark.parametrize("n_cur", [30, 120, 1000])
def test_ks_on_continuous_values_within_one_bin_of_scipy(n_cur: int) -> None:
    ref, cur = rng.normal(0, 1, 5000), rng.normal(0.3, 1.2, n_cur)
    f = _report(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), {"x": "numeric"}).features["x"]
    exact = stats.ks_2samp(ref, cur, method="asymp")
    assert f.ks == pytest.approx(exact.statistic, abs=2e-3)
    assert f.p_value == pytest.approx(ks_pvalue(exact.statistic, 5000, n_cur), rel=1e-9) or (
        abs(f.p_value - exact.pvalue) < 0.02
    )
    assert ks_pvalue(exact.statistic, 5000, n_cur) == pytest.approx(exact.pvalue, rel=1e-9)


def test_wasserstein_at_small_n_matches_scipy() -> None:
    ref, cur = rng.normal(5, 2, 4000), rng.normal(5.5, 2, 60)
    f = _report(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), {"x": "numeric"}).features["x"]
    exact = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert f.method == "wasserstein" and f.statistic == pytest.approx(exact, abs=1e-3)


def test_chi_square_is_scipys_contingency_test_with_jensen_shannon() -> None:
    ref = rng.choice(list("abcd"), 2000, p=[0.4, 0.3, 0.2, 0.1])
    cur = rng.choice(list("abcd"), 200, p=[0.3, 0.3, 0.2, 0.2])
    f = _report(pd.DataFrame({"c": ref}), pd.DataFrame({"c": cur}), {"c": "categorical"})
    f = f.features["c"]
    keys = list("abcd")
    table = np.array([[(ref == k).sum() for k in keys], [(cur == k).sum() for k in keys]])
    exact = stats.chi2_contingency(table, correction=False)
    assert f.test == "chi2" and f.p_value == pytest.approx(exact.pvalue, rel=1e-9)
    p, q = table[0] / table[0].sum(), table[1] / table[1].sum()
    assert f.statistic == pytest.approx(distance.jensenshannon(p, q), abs=1e-12)


def test_low_cardinality_numeric_uses_chi_square() -> None:
    ref = rng.integers(0, 3, 1500).astype(float)
    cur = rng.choice([0.0, 1.0, 2.0], 90, p=[0.2, 0.3, 0.5])
    f = _report(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), {"x": "numeric"}).features["x"]
    table = np.array([np.bincount(ref.astype(int)), np.bincount(cur.astype(int))])
    assert f.test == "chi2" and f.reason == "low_cardinality"
    assert f.p_value == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue)


def test_sparse_categories_are_pooled_before_the_chi_square() -> None:
    ref = np.array([500.0, 300.0, 150.0, 30.0, 20.0])
    cur = np.array([15.0, 9.0, 4.0, 1.0, 1.0])  # expected counts of the last three under 5
    table = pooled_table(ref, cur)
    assert table.shape == (2, 3) and table.sum() == ref.sum() + cur.sum()
    expected = table.sum(axis=0) * cur.sum() / table.sum()
    assert expected.min() >= 5
    stat, p, dof = chi2_pvalue(ref, cur)
    exact = stats.chi2_contingency(table, correction=False)
    assert (stat, dof) == (pytest.approx(exact.statistic), exact.dof)
    assert p == pytest.approx(exact.pvalue)
    assert chi2_pvalue(np.array([10.0]), np.array([3.0]))[1] == 1.0  # one category: no test


def test_holm_adjusted_p_values() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005, 3*0.01, 2*0.03, then max(1*0.04, 0.06)
    assert holm_adjusted([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm_adjusted([0.9, 0.8]) == pytest.approx([1.0, 1.0])
    assert holm_adjusted([]) == []


def test_drifted_means_significant_after_holm_and_at_least_the_threshold() -> None:
    # integers, so each statistic (and p-value) is scipy's exactly
    n = 1500
    ref = pd.DataFrame({f"x{i}": rng.poisson(20, 4000).astype(float) for i in range(6)})
    cur = pd.DataFrame({f"x{i}": rng.poisson(20, n).astype(float) for i in range(6)})
    cur["x0"] += 5.0  # over one sd: big and significant
    cur["x1"] += 1.5  # ~0.35 sd: significant at this size, under a 0.5 threshold
    kinds = dict.fromkeys(ref.columns, "numeric")
    report = _report(ref, cur, kinds, thresholds={"x1": 0.5})
    raw = [stats.ks_2samp(ref[c], cur[c], method="asymp").pvalue for c in ref.columns]
    for (name, f), p in zip(report.features.items(), holm_adjusted(raw), strict=True):
        assert f.p_adjusted == pytest.approx(p, rel=1e-9), name
        assert f.drifted == (f.p_adjusted <= 1 - DEFAULT_CONFIDENCE and f.statistic >= f.threshold)
        assert (f.alarm_value >= f.threshold) == f.drifted
    assert report.drifted_features == ["x0"]
    assert report.features["x1"].significant and not report.features["x1"].drifted


@pytest.mark.parametrize("rows", [36, 114, 300])
def test_held_out_rows_of_public_datasets_raise_nothing(rows: int) -> None:
    # the training split's own held-out rows: the old distance-only rule flagged many features
    for loader in (load_breast_cancer, load_wine):
        data = loader(as_frame=True).data
        order = np.random.default_rng(rows).permutation(len(data))
        cut = int(0.6 * len(data))
        ref, held = data.iloc[order[:cut]], data.iloc[order[cut:]]
        report = _report(ref, held.iloc[:rows], dict.fromkeys(data.columns, "numeric"))
        assert report.drifted_features == [] and report.drift_score == 0.0


def test_below_the_minimum_window_nothing_is_decided() -> None:
    ref = pd.DataFrame({"x": rng.normal(0, 1, 2000), "c": rng.choice(["a", "b"], 2000)})
    far = pd.DataFrame({"x": rng.normal(50, 1, 40), "c": ["z"] * 40})  # obvious drift
    small = _report(ref, far.iloc[:29], {"x": "numeric", "c": "categorical"}, min_rows=30)
    assert not small.sufficient and small.drift_score == 0.0 and small.drifted_features == []
    assert {f.reason for f in small.features.values()} == {"insufficient_data"}
    assert all(f.alarm_value is None for f in small.features.values())
    enough = _report(ref, far.iloc[:30], {"x": "numeric", "c": "categorical"}, min_rows=30)
    assert enough.sufficient and enough.drifted_features == ["x", "c"]


def test_a_feature_with_too_few_values_is_not_decided() -> None:
    ref = pd.DataFrame({"x": rng.normal(0, 1, 2000), "y": rng.normal(0, 1, 2000)})
    cur = pd.DataFrame({"x": rng.normal(9, 1, 60), "y": rng.normal(9, 1, 60)})
    cur.loc[10:, "y"] = np.nan  # 10 values of y, 60 of x
    report = _report(ref, cur, {"x": "numeric", "y": "numeric"}, min_rows=30)
    assert report.features["y"].reason == "insufficient_data"
    assert report.drifted_features == ["x"] and report.drift_score == 1.0


def test_a_one_row_window_raises_nothing() -> None:
    ref = pd.DataFrame({"x": rng.normal(0, 1, 500), "c": rng.choice(["a", "b"], 500)})
    one = pd.DataFrame({"x": [1e9], "c": ["never-seen"]})
    report = _report(ref, one, {"x": "numeric", "c": "categorical"})
    assert report.n_current == 1 and not report.sufficient and report.drift_score == 0.0
    assert report.drifted_features == [] and {f.reason for f in report.features.values()} == {
        "insufficient_data"
    }


def test_bad_decision_parameters_are_caller_errors() -> None:
    profile = build_profile([pd.DataFrame({"x": [1.0, 2.0]})], {"x": "numeric"})
    with pytest.raises(ValueError, match="confidence"):
        check_drift(profile, [], confidence=1.0)
    with pytest.raises(ValueError, match="min_rows"):
        check_drift(profile, [], min_rows=0)


def test_config_defaults_are_the_engines() -> None:
    assert DriftConfig().confidence == DEFAULT_CONFIDENCE
    assert DriftConfig().min_window_rows == DEFAULT_MIN_ROWS


def test_the_config_reaches_the_monitoring_settings() -> None:
    from infra.config import parse_config
    from infra.contracts import monitoring_pipeline_settings

    config = json.loads(Path("config/dev.json").read_text())
    config.setdefault("drift", {}).update(confidence=0.995, min_window_rows=50)
    settings = monitoring_pipeline_settings(parse_config(config))
    assert (settings.drift_confidence, settings.min_window_rows) == (0.995, 50)


def test_ks_p_value_beyond_the_exact_range_is_kolmogorovs_limit() -> None:
    # en = 40k: the limit, within 2% of scipy's kstwo and never below it (conservative)
    for d in (0.005, 0.01, 0.015):
        p = ks_pvalue(d, 80_000, 80_000)
        assert p == pytest.approx(stats.kstwobign.sf(d * np.sqrt(40_000)), rel=1e-12)
        assert p == pytest.approx(stats.kstwo.sf(d, 40_000), rel=0.02)
        assert p >= stats.kstwo.sf(d, 40_000)
