"""Odd inputs give a defined result with a reason, never an exception."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipelines.drift import DriftReport, ReferenceProfile, build_profile, check_drift

FEATURES = {"x": "numeric", "c": "categorical"}
rng = np.random.default_rng(0)
REF = pd.DataFrame({"x": rng.normal(0, 1, 5000), "c": rng.choice(["a", "b", "c"], 5000)})


def _check(current: object, ref: pd.DataFrame = REF, features: dict = FEATURES) -> DriftReport:
    profile = ReferenceProfile.from_json(build_profile([ref], features).to_json())
    report = check_drift(profile, current)  # type: ignore[arg-type]
    json.dumps(report.to_dict(), allow_nan=False)
    return report


def test_nan_and_infinities_are_counted_and_ignored() -> None:
    cur = REF.copy()
    cur.loc[:99, "x"] = np.nan
    cur.loc[100:149, "x"] = np.inf
    cur.loc[150:159, "x"] = -np.inf
    cur.loc[:9, "c"] = None
    f = _check([cur]).features["x"]
    assert f.reason is None and f.statistic is not None and f.statistic < 0.05
    assert f.details["current"]["null"] == 100 and f.details["current"]["inf"] == 60
    assert _check([cur]).features["c"].details["current"]["null"] == 10


def test_constant_reference_mirrors_evidently() -> None:
    ref = pd.DataFrame({"x": np.full(3000, 2.0), "c": ["a"] * 3000})
    same = _check([ref], ref).features["x"]
    assert same.reason == "constant_reference" and same.method == "jensenshannon"
    assert same.statistic == 0.0 and not same.drifted
    moved = _check([pd.DataFrame({"x": rng.normal(2, 1, 3000)})], ref).features["x"]
    assert moved.reason == "constant_reference" and moved.drifted


def test_low_cardinality_numeric_uses_jensenshannon() -> None:
    ref = pd.DataFrame({"x": rng.integers(0, 3, 5000).astype(float)})
    cur = pd.DataFrame({"x": rng.integers(1, 4, 5000).astype(float)})
    f = _check([cur], ref, {"x": "numeric"}).features["x"]
    assert f.method == "jensenshannon" and f.reason == "low_cardinality" and f.drifted


def test_all_null_current_column() -> None:
    cur = pd.DataFrame({"x": [np.nan] * 10, "c": [None] * 10})
    report = _check([cur])
    assert report.features["x"].reason == "all_null"
    assert report.features["c"].reason == "all_null"
    assert not report.features["x"].drifted and report.drift_score == 0.0


def test_all_null_reference_column() -> None:
    ref = pd.DataFrame({"x": [np.nan] * 10, "c": [None] * 10})
    report = _check([REF], ref)
    assert {f.reason for f in report.features.values()} == {"all_null_reference"}


def test_only_infinities_in_current() -> None:
    f = _check([pd.DataFrame({"x": [np.inf, -np.inf], "c": ["a", "b"]})]).features["x"]
    assert f.reason == "no_finite_values" and f.statistic is None


@pytest.mark.parametrize("current", [[], [REF.iloc[:0]]])
def test_empty_window(current: list) -> None:
    report = _check(current)
    assert report.n_current == 0 and report.drift_score == 0.0
    assert {f.reason for f in report.features.values()} == {"empty_window"}


def test_missing_column_is_reported_not_drifted() -> None:
    report = _check([REF[["c"]]])
    f = report.features["x"]
    assert f.reason == "missing_in_current" and not f.drifted and f.statistic is None
    assert report.drift_score == 0.0  # only "c" was evaluated


def test_numeric_column_turned_to_text() -> None:
    cur = pd.DataFrame({"x": ["n/a", "oops"] * 100, "c": ["a"] * 200})
    f = _check([cur]).features["x"]
    assert f.reason == "type_changed" and f.drifted and f.statistic is None


def test_numeric_strings_are_coerced() -> None:
    cur = pd.DataFrame({"x": REF["x"].astype(str), "c": REF["c"]})
    f = _check([cur]).features["x"]
    assert f.reason is None and f.statistic == pytest.approx(0.0, abs=1e-3)


def test_categorical_type_change_is_flagged_but_compared() -> None:
    ref = pd.DataFrame({"c": rng.integers(0, 3, 1000)})
    cur = pd.DataFrame({"c": rng.choice(["0", "1", "2"], 1000)})
    f = _check([cur], ref, {"c": "categorical"}).features["c"]
    assert f.reason == "type_changed" and f.statistic is not None and f.statistic < 0.1


def test_int_categories_match_float_categories() -> None:
    ref = pd.DataFrame({"c": [1, 2, 3] * 100})
    cur = pd.DataFrame({"c": [1.0, 2.0, 3.0, np.nan] * 75})
    f = _check([cur], ref, {"c": "categorical"}).features["c"]
    assert f.details["unseen_categories"] == 0 and f.statistic == pytest.approx(0.0, abs=1e-2)


def test_pandas_categorical_dtype_and_numpy_convertible_chunks() -> None:
    cur = {"x": REF["x"].to_numpy(), "c": pd.Categorical(REF["c"])}
    report = _check([cur])
    assert report.drift_score == 0.0 and report.features["c"].statistic == 0.0


def test_thresholds_per_feature() -> None:
    # 50k rows: a shift of 0.08 sd is significant, so the threshold alone decides
    ref = pd.DataFrame({"x": rng.normal(0, 1, 50_000)})
    cur = ref.assign(x=ref["x"] + 0.08)
    profile = build_profile([ref], {"x": "numeric"})
    calm = check_drift(profile, [cur]).features["x"]
    assert calm.significant and not calm.drifted
    f = check_drift(profile, [cur], thresholds={"x": 0.05}).features["x"]
    assert f.drifted and f.threshold == 0.05


def test_single_frame_instead_of_chunks() -> None:
    assert _check(REF).n_current == len(REF)


def test_hists_for_plotting() -> None:
    f = _check([REF.assign(x=REF["x"] + 10)]).features["x"]
    assert len(f.reference_hist["edges"]) == len(f.reference_hist["counts"]) + 1
    assert sum(f.reference_hist["counts"]) == len(REF)
    assert sum(f.current_hist["counts"]) + f.current_hist["above"] == len(REF)


def test_bad_kind_is_a_caller_error() -> None:
    with pytest.raises(ValueError):
        build_profile([REF], {"x": "text"})
