"""Distances between a reference and a current histogram, on shared bins.

Within a bin both distributions are taken as uniform, so the CDF difference is linear there and
its absolute integral has a closed form; beyond the grid only the current side has mass and the
exact sums of overshoot give the tails. That keeps Wasserstein within ~1e-4 (in reference
standard deviations) of scipy's exact value on the raw samples with the default 4096 bins.
"""

from __future__ import annotations

import numpy as np

from pipelines.drift.numeric import NumericHist

# Same floor as Evidently, so a constant reference column gives the same (huge) distance.
STD_FLOOR = 1e-3
# Empty PSI bins are clipped to this share, the usual convention, so PSI stays finite.
PSI_EPS = 1e-4
PSI_BINS = 10


def cdf_gap(ref: NumericHist, cur: NumericHist) -> np.ndarray:
    """F_ref - F_cur at the grid edges (lo ... hi); cur's under/overflow sit outside the edges."""
    nr, nc = ref.counts.sum(), cur.n_finite
    fr = np.concatenate(([0.0], np.cumsum(ref.counts) / nr))
    fc = (cur.n_under + np.concatenate(([0], np.cumsum(cur.counts)))) / nc
    return fr - fc


def wasserstein(ref: NumericHist, cur: NumericHist) -> float:
    d = cdf_gap(ref, cur)
    a, b = d[:-1], d[1:]
    aa, bb = np.abs(a), np.abs(b)
    same = a * b >= 0
    s = aa + bb
    with np.errstate(invalid="ignore", divide="ignore"):
        crossing = (a * a + b * b) / (2 * s)
    inner = np.where(same, s / 2, np.where(s > 0, crossing, 0.0)).sum() * ref.width
    tails = (cur.excess_under + cur.excess_over) / cur.n_finite
    return float(inner + tails)


def wasserstein_norm(ref: NumericHist, cur: NumericHist) -> float:
    return wasserstein(ref, cur) / max(ref.std, STD_FLOOR)


def ks(ref: NumericHist, cur: NumericHist) -> float:
    return float(np.abs(cdf_gap(ref, cur)).max())


def psi(ref_share: np.ndarray, cur_share: np.ndarray) -> float:
    p = np.clip(ref_share, PSI_EPS, None)
    q = np.clip(cur_share, PSI_EPS, None)
    return float(((q - p) * np.log(q / p)).sum())


def numeric_psi(ref: NumericHist, cur: NumericHist, n_groups: int = PSI_BINS) -> float:
    """PSI over reference deciles, formed by grouping the fine bins."""
    cum = np.cumsum(ref.counts) / ref.counts.sum()
    cuts = np.searchsorted(cum, np.arange(1, n_groups) / n_groups, side="left") + 1
    starts = np.unique(np.concatenate(([0], cuts[cuts < ref.nbins])))
    r = np.add.reduceat(ref.counts, starts).astype(np.float64)
    c = np.add.reduceat(cur.counts, starts).astype(np.float64)
    c[0] += cur.n_under
    c[-1] += cur.n_over
    return psi(r / r.sum(), c / c.sum())


def shares(counts: dict[str, int] | dict[float, int], keys: list) -> np.ndarray:
    v = np.array([counts.get(k, 0) for k in keys], dtype=np.float64)
    total = v.sum()
    return v / total if total > 0 else v


def jensenshannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance, natural log: scipy.spatial.distance.jensenshannon's default."""
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kp = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        kq = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    return float(np.sqrt(max((kp + kq) / 2, 0.0)))
