"""The reference profile: one streaming pass over the training data, stored as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines.drift.categorical import CategoryCounts
from pipelines.drift.frames import (
    NUMERIC,
    ColumnPool,
    as_frames,
    check_kinds,
    numeric_values,
)
from pipelines.drift.numeric import NumericHist

DEFAULT_BINS = 4096
# 2: numeric bin counts are encoded (numeric.encode_counts); 1 had JSON lists
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)

Accumulator = NumericHist | CategoryCounts


@dataclass
class ReferenceProfile:
    features: dict[str, str]  # name -> "numeric" | "categorical"
    stats: dict[str, Accumulator]
    n_rows: int
    bins: int

    def to_json(self) -> str:
        return json.dumps(
            {
                "format_version": FORMAT_VERSION,
                "n_rows": self.n_rows,
                "bins": self.bins,
                "features": self.features,
                "stats": {k: v.to_dict() for k, v in self.stats.items()},
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> ReferenceProfile:
        d = json.loads(text)
        if d.get("format_version") not in READABLE_VERSIONS:
            raise ValueError(f"unsupported drift profile format {d.get('format_version')!r}")
        features = {str(k): str(v) for k, v in d["features"].items()}
        stats: dict[str, Accumulator] = {
            name: (
                NumericHist.from_dict(d["stats"][name])
                if kind == NUMERIC
                else CategoryCounts.from_dict(d["stats"][name])
            )
            for name, kind in features.items()
        }
        return cls(features=features, stats=stats, n_rows=int(d["n_rows"]), bins=int(d["bins"]))


def new_accumulator(kind: str, bins: int) -> Accumulator:
    return NumericHist(nbins=bins) if kind == NUMERIC else CategoryCounts()


def accumulate(
    chunks: Iterable[Any],
    stats: Mapping[str, Accumulator],
    threads: int | None,
) -> tuple[int, set[str]]:
    """Feed every chunk to the accumulators; returns the row count and the columns seen."""
    n_rows, seen = 0, set()
    with ColumnPool(threads) as pool:
        for frame in as_frames(chunks):
            n_rows += len(frame)
            present = [name for name in stats if name in frame.columns]
            seen.update(present)
            pool.run([(_cost(stats[name]), _task(stats[name], frame[name])) for name in present])
            del frame  # so only one chunk is alive while the next one is produced
    return n_rows, seen


def _cost(acc: Accumulator) -> float:
    # relative per-row cost: counting strings (words or pyarrow) takes ~2-3x a numeric binning
    return 3.0 if isinstance(acc, CategoryCounts) else 1.0


def _task(acc: Accumulator, s: pd.Series) -> Any:
    if isinstance(acc, CategoryCounts):
        return lambda: acc.update(s)

    def run() -> None:
        x, n_invalid = numeric_values(s)
        acc.update(x, n_invalid)

    return run


def build_profile(
    chunks: Iterable[Any],
    features: Mapping[str, str],
    *,
    bins: int = DEFAULT_BINS,
    threads: int | None = None,
) -> ReferenceProfile:
    """One pass over the reference chunks; memory depends on bins and categories, not rows."""
    features = dict(features)
    check_kinds(features)
    if bins < 2 or bins % 2:
        raise ValueError("bins must be an even number >= 2 (the grid doubles by merging pairs)")
    stats = {name: new_accumulator(kind, bins) for name, kind in features.items()}
    n_rows, _ = accumulate(chunks, stats, threads)
    return ReferenceProfile(features=features, stats=stats, n_rows=n_rows, bins=bins)
