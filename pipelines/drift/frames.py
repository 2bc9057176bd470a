"""Turning whatever a caller streams into columns the accumulators take."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

NUMERIC, CATEGORICAL = "numeric", "categorical"


def as_frames(chunks: Iterable[Any] | pd.DataFrame) -> Iterator[pd.DataFrame]:
    """Accept DataFrames, or anything pandas turns into one (dicts of arrays, records...)."""
    if isinstance(chunks, pd.DataFrame):  # a frame passed where chunks were expected
        chunks = [chunks]
    for chunk in chunks:
        frame = chunk if isinstance(chunk, pd.DataFrame) else pd.DataFrame(chunk)
        del chunk  # drop our references before the producer builds the next chunk
        yield frame
        del frame


def numeric_values(s: pd.Series) -> tuple[np.ndarray, int]:
    """float64 values with NaN for nulls, and how many non-null values were not numbers."""
    if s.dtype == np.float64:
        return s.to_numpy(), 0  # zero-copy: the hot path, before the dtype-family checks
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan), 0
    coerced = pd.to_numeric(s, errors="coerce")
    x = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
    n_invalid = int(coerced.isna().sum() - s.isna().sum())
    return x, n_invalid


def check_kinds(features: dict[str, str]) -> None:
    bad = {k: v for k, v in features.items() if v not in (NUMERIC, CATEGORICAL)}
    if bad:
        raise ValueError(f"feature kinds must be 'numeric' or 'categorical', got {bad}")


class ColumnPool:
    """Runs a chunk's per-column tasks on a few threads, bundled so each thread gets big pieces.

    numpy and pyarrow release the GIL inside their loops, so columns overlap; but one task per
    column (tens of microseconds of numpy each) made the threads fight over the GIL and ran
    slower than one thread. So the tasks of a chunk go out as `workers` bundles of similar cost.
    """

    def __init__(self, threads: int | None) -> None:
        # One thread unless asked: on the 2-vCPU benchmark VM two threads measured slower than
        # one (numpy's short loops and pyarrow's hashing did not overlap), so no default pool.
        n = threads if threads is not None else 1
        self.workers = max(n, 1)
        self._pool = ThreadPoolExecutor(n) if n > 1 else None

    def run(self, tasks: list[tuple[float, Callable[[], None]]]) -> None:
        """Runs (cost, task) pairs; the cost is only a relative estimate for the bundling."""
        if self._pool is None:
            for _, t in tasks:
                t()
            return
        bundles = _bundle(tasks, self.workers)
        futures = [self._pool.submit(_run_all, b) for b in bundles[1:]]
        _run_all(bundles[0])  # the calling thread takes a share instead of just waiting
        for f in futures:
            f.result()

    def __enter__(self) -> ColumnPool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()


def _bundle(
    tasks: list[tuple[float, Callable[[], None]]], k: int
) -> list[list[Callable[[], None]]]:
    """Longest-first greedy split into k bundles of about equal total cost."""
    bundles: list[list[Callable[[], None]]] = [[] for _ in range(k)]
    load = [0.0] * k
    for cost, task in sorted(tasks, key=lambda ct: -ct[0]):
        i = load.index(min(load))
        bundles[i].append(task)
        load[i] += cost
    return [b for b in bundles if b] or [[]]


def _run_all(tasks: list[Callable[[], None]]) -> None:
    for t in tasks:
        t()
