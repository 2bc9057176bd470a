"""Distances from the shared bins against exact values on the raw samples (100k rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from pipelines.drift import ReferenceProfile, build_profile, check_drift

N = 100_000
TOL = 1e-3


def _pairs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(11)
    beyond = rng.uniform(0, 10, N)
    beyond[: N // 8] = rng.uniform(10, 25, N // 8)
    return {
        "normal_shift": (rng.normal(0, 1, N), rng.normal(0.15, 1, N)),
        "scale": (rng.normal(3, 2, N), rng.normal(3, 2.6, N)),
        "beyond_range": (rng.uniform(0, 10, N), beyond),
        "below_range": (rng.uniform(0, 10, N), rng.uniform(-5, 8, N)),
        "lognormal": (rng.lognormal(0, 1, N), rng.lognormal(0.05, 1, N)),
        "integers": (rng.poisson(12, N).astype(float), rng.poisson(13, N).astype(float)),
        "same": (rng.normal(0, 1, N), rng.normal(0, 1, N)),
    }


@pytest.fixture(scope="module")
def numeric_case() -> tuple[dict, object]:
    pairs = _pairs()
    ref = pd.DataFrame({k: v[0] for k, v in pairs.items()})
    cur = pd.DataFrame({k: v[1] for k, v in pairs.items()})
    chunks = [ref.iloc[i : i + 7_000] for i in range(0, N, 7_000)]  # uneven chunks on purpose
    profile = build_profile(chunks, dict.fromkeys(pairs, "numeric"))
    profile = ReferenceProfile.from_json(profile.to_json())
    return pairs, check_drift(profile, [cur.iloc[: N // 2], cur.iloc[N // 2 :]])


@pytest.mark.parametrize("name", list(_pairs()))
def test_wasserstein_matches_scipy(numeric_case: tuple, name: str) -> None:
    pairs, report = numeric_case
    ref, cur = pairs[name]
    exact = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert report.features[name].statistic == pytest.approx(exact, abs=TOL)


@pytest.mark.parametrize("name", list(_pairs()))
def test_ks_matches_scipy(numeric_case: tuple, name: str) -> None:
    pairs, report = numeric_case
    ref, cur = pairs[name]
    assert report.features[name].ks == pytest.approx(stats.ks_2samp(ref, cur).statistic, abs=TOL)


def test_psi_matches_decile_psi(numeric_case: tuple) -> None:
    pairs, report = numeric_case
    ref, cur = pairs["normal_shift"]
    edges = np.quantile(ref, np.linspace(0, 1, 11))
    edges[0], edges[-1] = -np.inf, np.inf
    p = np.histogram(ref, edges)[0] / N
    q = np.histogram(cur, edges)[0] / N
    exact = float(((q - p) * np.log(q / p)).sum())
    assert report.features["normal_shift"].psi == pytest.approx(exact, abs=TOL)


def test_jensenshannon_matches_scipy_with_unseen_categories() -> None:
    rng = np.random.default_rng(3)
    ref = rng.choice(list("abcde"), N, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    cur = rng.choice(list("abcdefg"), N, p=[0.3, 0.3, 0.15, 0.1, 0.05, 0.07, 0.03])
    profile = build_profile([pd.DataFrame({"c": ref})], {"c": "categorical"})
    f = check_drift(profile, [pd.DataFrame({"c": cur})]).features["c"]
    keys = sorted(set(ref) | set(cur))
    p = np.array([(ref == k).mean() for k in keys])
    q = np.array([(cur == k).mean() for k in keys])
    assert f.statistic == pytest.approx(distance.jensenshannon(p, q), abs=TOL)
    assert f.current_hist["categories"][-2:] == ["f", "g"]  # unseen ones kept, not dropped
    assert sum(f.current_hist["counts"]) == N
    assert f.details["unseen_categories"] == 2


def test_grid_doubling_keeps_counts_exact() -> None:
    # a narrow first chunk, then chunks far on both sides: the grid must double and stay exact
    rng = np.random.default_rng(5)
    parts = [rng.normal(0, 0.01, 1000), rng.normal(50, 1, 1000), rng.normal(-70, 1, 1000)]
    x = np.concatenate(parts)
    profile = build_profile([pd.DataFrame({"x": p}) for p in parts], {"x": "numeric"})
    h = profile.stats["x"]
    assert h.counts.sum() == x.size
    assert h.lo <= x.min() and h.hi >= x.max()
    assert h.mean == pytest.approx(x.mean()) and h.std == pytest.approx(x.std())
