"""The drift decision against exact scipy values, and the rules that keep small windows quiet."""

from __future__ import annotations

import itertools
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
from pipelines.drift.decision import chi2_pvalue, cvm_test, holm_adjusted, pooled_table

rng = np.random.default_rng(21)


def _report(ref: pd.DataFrame, cur: pd.DataFrame, kinds: dict[str, str], **kw: object):
    return check_drift(build_profile([ref], kinds), [cur], **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("n_cur", [30, 60, 400])
def test_cvm_without_ties_is_scipys_statistic_and_p_value(n_cur: int) -> None:
    # distinct integers on a span of 2,500: the grid's bins are narrower than 1, so each value
    # has a bin of its own and nothing is tied; the window leans towards the larger values
    values = rng.permutation(2500).astype(float)
    ref, rest = values[:1500], values[1500:]
    cur = rng.choice(rest, n_cur, replace=False, p=rest / rest.sum())
    f = _report(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), {"x": "numeric"}).features["x"]
    exact = stats.cramervonmises_2samp(ref, cur, method="asymptotic")
    assert f.test == "cvm" and f.p_value == pytest.approx(exact.pvalue, rel=1e-6, abs=1e-7)
    assert f.ks == pytest.approx(stats.ks_2samp(ref, cur).statistic, abs=1e-12)
    cells = np.bincount(values.astype(int), minlength=2500)
    in_ref = np.isin(np.arange(2500), ref)
    statistic, p_value = cvm_test(cells * in_ref, np.isin(np.arange(2500), cur).astype(int))
    assert statistic == pytest.approx(exact.statistic, rel=1e-12)
    assert p_value == pytest.approx(exact.pvalue, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("n_cur", [30, 120, 1000])
def test_cvm_on_continuous_values_close_to_scipy(n_cur: int) -> None:
    ref, cur = rng.normal(0, 1, 5000), rng.normal(0.1, 1.1, n_cur)
    f = _report(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), {"x": "numeric"}).features["x"]
    exact = stats.cramervonmises_2samp(ref, cur, method="asymptotic")
    assert f.p_value == pytest.approx(exact.pvalue, rel=0.05, abs=1e-6)


def test_cvm_with_ties_is_the_average_over_every_order_of_the_tied_values() -> None:
    # cells of 0, 1 and 2: every way to order each cell's tied values, as distinct numbers
    ref, cur = np.array([2, 1, 3]), np.array([1, 2, 1])
    labels = [[0] * r + [1] * c for r, c in zip(ref, cur, strict=True)]
    statistics = []
    for orders in itertools.product(*(sorted(set(itertools.permutations(x))) for x in labels)):
        pooled = [s for cell in orders for s in cell]
        position = np.arange(len(pooled), dtype=float)
        x = position[np.array(pooled) == 0]
        y = position[np.array(pooled) == 1]
        statistics.append(stats.cramervonmises_2samp(x, y, method="asymptotic").statistic)
    assert cvm_test(ref, cur)[0] == pytest.approx(np.mean(statistics), rel=1e-12)


def test_cvm_stays_within_its_level_when_a_third_of_the_values_are_one_value() -> None:
    # a feature that is 0 in a third of the rows (zero-inflated): taking both cdfs after a tied
    # cell gave 2.6% of p-values under 0.01 on unchanged data, scipy's midranks more
    shares = np.r_[0.35, np.full(16, 0.65 / 16)]
    draws = np.random.default_rng(5)
    p = [
        cvm_test(draws.multinomial(1078, shares), draws.multinomial(30, shares))[1]
        for _ in range(4000)
    ]
    assert np.mean(np.array(p) <= 0.01) <= 0.013


def test_cvm_p_values_far_in_the_tail() -> None:
    # scipy's series stops at terms of 1e-7, ours at 1e-12: they agree where scipy is exact
    ref, cur = rng.normal(0, 1, 3000), rng.normal(0.8, 1, 40)
    exact = stats.cramervonmises_2samp(ref, cur, method="asymptotic")
    f = _report(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), {"x": "numeric"}).features["x"]
    assert 1e-9 < f.p_value < 1e-3
    assert f.p_value == pytest.approx(exact.pvalue, rel=0.05)
    # two samples that do not overlap: as far in the tail as it goes, and p is 0
    apart = stats.cramervonmises_2samp(np.arange(1000.0), np.arange(1000.0, 2000.0))
    assert cvm_test(np.array([1000, 0]), np.array([0, 1000])) == pytest.approx(
        (apart.statistic, 0.0), rel=1e-9
    )


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
    # integers tie: each feature's p-value is cvm_test's on its counts (checked against scipy
    # above), which Holm then adjusts over the six
    top = int(max(ref.max().max(), cur.max().max())) + 1
    raw = [
        cvm_test(
            np.bincount(ref[c].astype(int), minlength=top),
            np.bincount(cur[c].astype(int), minlength=top),
        )[1]
        for c in ref.columns
    ]
    for (name, f), p in zip(report.features.items(), holm_adjusted(raw), strict=True):
        assert f.p_adjusted == pytest.approx(p, rel=1e-9, abs=1e-9), name
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
    config.setdefault("drift", {}).update(confidence=0.999, min_window_rows=50)
    settings = monitoring_pipeline_settings(parse_config(config))
    assert (settings.drift_confidence, settings.min_window_rows) == (0.999, 50)
