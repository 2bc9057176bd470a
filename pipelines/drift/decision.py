"""When a difference between a window and the reference is drift, at any window size.

A feature drifts when its difference is both

- statistically significant: a two-sample test gives a p-value (Kolmogorov-Smirnov for numeric
  columns, chi-square on the 2 x k table of counts for categorical and low-cardinality numeric
  ones), and Holm's step-down correction over every feature tested keeps the chance that a
  window of unchanged traffic flags any feature at most alpha = 1 - confidence, whatever the
  dependence between features; and
- material: its distance (normalized Wasserstein, or Jensen-Shannon) reaches the feature's
  threshold.

At a few hundred rows the distance of unchanged traffic exceeds 0.1 by chance alone, so the test
decides; at many thousand rows every small difference is significant, so the distance decides.
Both tests use the sizes of both samples, so a small reference is accounted for too. Holm, not
Benjamini-Hochberg: it bounds the chance of any false alarm per window (each feature alarm
retrains) without assuming independent features; scipy has no Holm, and it is a few lines.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import stats

# Cochran's rule: the chi-square approximation needs expected counts of at least 5, so rarer
# categories are pooled into one cell before testing (a window of 30 rows has few of them).
MIN_EXPECTED = 5.0
# Effective KS sample size up to which the p-value is scipy's kstwo (see ks_pvalue).
KSTWO_MAX_N = 10_000


def ks_pvalue(d: float, n_ref: int, n_cur: int) -> float:
    """Two-sided p-value of a two-sample KS statistic on the effective size en = n*m/(n+m).

    Up to KSTWO_MAX_N, scipy's ks_2samp(method="asymp") exactly: kstwo.sf(d, round(en)) (the
    exact method needs the raw reference, which the profile does not keep). Beyond, the
    Kolmogorov limit kstwobign.sf(d * sqrt(en)): scipy's kstwo falls back to an exact series
    there that took 1 s a feature at 50k rows and 10 s at 500k, and the limit is within ~2% of
    it (and above it: slightly conservative) where it matters; at such sizes the distance
    decides anyway.
    """
    if n_ref <= 0 or n_cur <= 0:
        return 1.0
    m, n = sorted((float(n_ref), float(n_cur)), reverse=True)
    en = float(np.round(m * n / (m + n)))
    if en > KSTWO_MAX_N:
        return float(np.clip(stats.kstwobign.sf(float(d) * np.sqrt(en)), 0.0, 1.0))
    return _kstwo_sf(float(d), en)


@lru_cache(maxsize=4096)
def _kstwo_sf(d: float, n: float) -> float:
    # up to ~0.1 s a call (exact series); windows checked again against one profile (re-runs,
    # the benchmark's shifted copies of a window) repeat their (d, n)
    return float(np.clip(stats.kstwo.sf(d, n), 0.0, 1.0))


def chi2_pvalue(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float, int]:
    """(statistic, p-value, degrees of freedom) of the 2 x k homogeneity test.

    scipy.stats.chi2_contingency without Yates' correction (for two categories that is the
    two-proportion z-test Evidently uses), after pooling cells whose smallest expected count is
    under MIN_EXPECTED. Fewer than two cells left: nothing to compare, p = 1.
    """
    table = pooled_table(np.asarray(ref_counts, float), np.asarray(cur_counts, float))
    if table.shape[1] < 2:
        return 0.0, 1.0, 0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue), int(result.dof)


def pooled_table(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """The 2 x k table with sparse cells merged, smallest first, until every cell is testable."""
    keep = (ref + cur) > 0
    table = np.vstack([ref[keep], cur[keep]])
    n_ref, n_cur = table.sum(axis=1)
    if n_ref == 0 or n_cur == 0:
        return table[:, :0]
    share_of_smaller = min(n_ref, n_cur) / (n_ref + n_cur)
    while table.shape[1] >= 2:
        expected = table.sum(axis=0) * share_of_smaller
        order = np.argsort(expected, kind="stable")
        if expected[order[0]] >= MIN_EXPECTED:
            break
        # merge the two sparsest cells; repeat until the sparsest one is testable
        a, b = order[0], order[1]
        merged = table[:, a] + table[:, b]
        table = np.column_stack([np.delete(table, [a, b], axis=1), merged])
    return table


def holm_adjusted(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values: reject feature i at level alpha iff adjusted <= alpha."""
    k = len(pvalues)
    order = np.argsort(pvalues, kind="stable")
    adjusted = np.empty(k)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (k - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted.tolist()
