"""Turning whatever a caller streams into columns the accumulators take."""

from __future__ import annotations

import os
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
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        if s.dtype == np.float64:
            return s.to_numpy(), 0  # zero-copy: the hot path
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
    """Runs one task per column; numpy releases the GIL in its loops, so columns overlap."""

    def __init__(self, threads: int | None) -> None:
        n = threads if threads is not None else min(4, os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(n) if n > 1 else None

    def run(self, tasks: list[Callable[[], None]]) -> None:
        if self._pool is None:
            for t in tasks:
                t()
            return
        for f in [self._pool.submit(t) for t in tasks]:
            f.result()

    def __enter__(self) -> ColumnPool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()
