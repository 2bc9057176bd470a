"""Histograms small enough for a report: the fine grid regrouped into a few shared bins."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelines.drift.numeric import NumericHist

PLOT_BINS = 50


def numeric_hists(
    ref: NumericHist, cur: NumericHist, n: int = PLOT_BINS
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both sides on the same edges, over the part of the grid either side populates.

    Current values beyond the reference grid are reported as "below"/"above" counts.
    """
    filled = np.flatnonzero((ref.counts > 0) | (cur.counts > 0))
    first, last = (int(filled[0]), int(filled[-1]) + 1) if filled.size else (0, ref.nbins)
    step = max(1, -(-(last - first) // n))  # ceil: at most n plot bins
    starts = np.arange(first, last, step)
    edges = ref.lo + ref.width * np.append(starts, min(starts[-1] + step, ref.nbins))
    r = np.add.reduceat(ref.counts[: starts[-1] + step], starts)
    c = np.add.reduceat(cur.counts[: starts[-1] + step], starts)
    ref_hist = {"edges": edges.tolist(), "counts": r.tolist()}
    cur_hist = {
        "edges": edges.tolist(),
        "counts": c.tolist(),
        "below": int(cur.n_under),
        "above": int(cur.n_over),
    }
    return ref_hist, cur_hist


def categorical_hists(
    keys: list[str], ref: dict[str, int], cur: dict[str, int]
) -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        {"categories": keys, "counts": [ref.get(k, 0) for k in keys]},
        {"categories": keys, "counts": [cur.get(k, 0) for k in keys]},
    )
