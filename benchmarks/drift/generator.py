"""Deterministic benchmark data: 20 numeric and 5 categorical columns, four of them drifted.

Chunk i of a side is drawn from its own seeded stream, so the data is the same whoever reads it
(our engine chunk by chunk, Evidently's process as one frame) and nothing needs a file. numpy and
pandas only: it is imported from both virtualenvs (pandas 3 here, pandas 2 next to Evidently).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

CHUNK_ROWS = 50_000
NUMERIC = [f"num_{i:02d}" for i in range(20)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
FEATURES = {**dict.fromkeys(NUMERIC, "numeric"), **dict.fromkeys(CATEGORICAL, "categorical")}
# small mean shift, scale change, values beyond the reference range, reversed frequencies
DRIFTED = ["num_00", "num_01", "num_02", "cat_0"]
_CAT_SIZES = [6, 3, 12, 40, 150]
_SIDES = {"reference": 0, "current": 1}


def _zipf(k: int, a: float = 1.1) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** a
    return p / p.sum()


def _categories(n: int, j: int, p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    codes = np.searchsorted(np.cumsum(p), rng.random(n) * p.sum())
    labels = np.array([f"c{j}_{v:03d}" for v in range(p.size)], dtype=object)
    return labels[np.minimum(codes, p.size - 1)]


def _numeric(n: int, i: int, current: bool, rng: np.random.Generator) -> np.ndarray:
    if i == 0:
        return rng.normal(0.2 if current else 0.0, 1.0, n)
    if i == 1:
        return rng.normal(5.0, 3.0 if current else 2.0, n)
    if i == 2:
        x = rng.uniform(0.0, 10.0, n)
        if current:  # 15% of the window lands in [10, 16), beyond anything the reference saw
            beyond = rng.random(n) < 0.15
            x[beyond] = rng.uniform(10.0, 16.0, int(beyond.sum()))
        return x
    kind = i % 5
    if kind == 0:
        x = rng.normal(i, 1.0 + i / 10, n)
    elif kind == 1:
        x = rng.lognormal(0.0, 0.75, n) * i
    elif kind == 2:
        x = rng.exponential(i, n)
    elif kind == 3:
        x = rng.poisson(30 + i, n).astype(np.float64)  # integers, many distinct values
    else:
        x = rng.uniform(-i, i, n)
    if i in (7, 13):  # some nulls, as real captures have
        x[rng.random(n) < 0.02] = np.nan
    return x


def chunk(n: int, side: str, index: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng([seed, _SIDES[side], index])
    current = side == "current"
    cols: dict[str, np.ndarray] = {
        name: _numeric(n, i, current, rng) for i, name in enumerate(NUMERIC)
    }
    for j, name in enumerate(CATEGORICAL):
        p = _zipf(_CAT_SIZES[j])
        if j == 0:
            p = np.array([0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
            if current:
                p = p[::-1].copy()
        cols[name] = _categories(n, j, p, rng)
    return pd.DataFrame(cols)


def chunks(
    n_rows: int, side: str, seed: int = 7, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """The side as chunks; the same rows for any n_rows that is a multiple of chunk_rows."""
    for index, start in enumerate(range(0, n_rows, chunk_rows)):
        yield chunk(min(chunk_rows, n_rows - start), side, index, seed)


def frame(n_rows: int, side: str, seed: int = 7) -> pd.DataFrame:
    return pd.concat(list(chunks(n_rows, side, seed)), ignore_index=True)
