"""Streaming category counts of one column, keyed by a canonical string.

Keys are strings so a profile survives JSON and so 3, 3.0 and "3" (an int column that became
float because of a null, or a CSV read as text) are the same category.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipelines.drift.short_strings import WordCounter


@dataclass
class CategoryCounts:
    counts: dict[str, int] = field(default_factory=dict)
    n_rows: int = 0
    n_null: int = 0
    value_kind: str | None = None  # "string" | "number" | "bool": seen in the first non-null chunk
    # short strings are counted as 64-bit words; state across chunks, never serialized
    words: WordCounter = field(default_factory=WordCounter, repr=False, compare=False)

    @property
    def n_valid(self) -> int:
        return self.n_rows - self.n_null

    def update(self, s: pd.Series) -> None:
        self.n_rows += len(s)
        if len(s) == 0:
            return
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy()
            binned = np.bincount(codes + 1, minlength=len(s.cat.categories) + 1)
            self.n_null += int(binned[0])
            values: list[Any] = list(s.cat.categories)
            freq: list[int] = binned[1:].tolist()
            kind_of = s.cat.categories.to_series()
        else:
            values, freq = _value_counts(s, self.words)
            self.n_null += len(s) - sum(freq)
            kind_of = s
        if self.value_kind is None and values:
            self.value_kind = value_kind(kind_of)
        counts = self.counts
        # str values are their own keys: skip category_key's type dispatch for the common case
        keys = values if all(type(v) is str for v in values) else map(category_key, values)
        for k, c in zip(keys, freq, strict=True):
            if c:
                counts[k] = counts.get(k, 0) + c

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "n_rows": self.n_rows,
            "n_null": self.n_null,
            "value_kind": self.value_kind,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CategoryCounts:
        return cls(
            counts={str(k): int(v) for k, v in d["counts"].items()},
            n_rows=int(d["n_rows"]),
            n_null=int(d["n_null"]),
            value_kind=d.get("value_kind"),
        )


def _value_counts(s: pd.Series, words: WordCounter) -> tuple[list[Any], list[int]]:
    """Counts of non-null values: in numpy or C, never a per-row Python loop."""
    to_arrow = getattr(s.array, "__arrow_array__", None)
    if to_arrow is not None:  # pandas 3 strings: short ones as words, else arrow's hashing
        import pyarrow.compute as pc

        chunks = to_arrow()
        counted = _word_counts(chunks, words)
        if counted is not None:
            return counted
        vc = pc.value_counts(chunks)
        values, counts = vc.field("values").to_pylist(), vc.field("counts").to_pylist()
        if None in values:  # value_counts counts nulls too; the caller counts them apart
            i = values.index(None)
            del values[i], counts[i]
        return values, counts
    vc = s.value_counts(dropna=True, sort=False)
    return vc.index.tolist(), vc.to_numpy().tolist()


def _word_counts(chunks: Any, words: WordCounter) -> tuple[list[Any], list[int]] | None:
    if words.disabled:
        return None
    totals: dict[str, int] = {}
    for chunk in getattr(chunks, "chunks", [chunks]):
        counted = words.count(chunk)
        if counted is None:
            return None
        for label, c in zip(*counted, strict=True):
            totals[label] = totals.get(label, 0) + c
    return list(totals), list(totals.values())


def category_key(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def value_kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s.dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(s.dtype):
        return "number"
    if s.dtype == object:  # python objects: look at a few values, not the dtype
        inferred = pd.api.types.infer_dtype(s.head(256), skipna=True)
        if inferred == "boolean":
            return "bool"
        if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
            return "number"
    return "string"
