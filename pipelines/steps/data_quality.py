"""Data quality of live traffic: per feature, the share of missing values, of values of the
wrong type (text in a numeric feature), of values outside the schema's bounds (min/max) and of
categories the model never saw, next to the same share in the training data (the baseline).

Counted on the values as the caller sent them (capture's untyped rows), in one streaming pass.
`data_quality_score` is the largest excess of a live share over its baseline share; it is
published only from `min_rows` rows, so one odd request cannot raise the alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipelines.drift import ReferenceProfile
from pipelines.metric_names import DATA_QUALITY_SCORE_METRIC, data_quality_metric
from pipelines.schema import DatasetSchema, Feature

MISSING, WRONG_TYPE, OUT_OF_BOUNDS, UNSEEN = "missing", "wrong_type", "out_of_bounds", "unseen"
DATA_QUALITY_SCORE = DATA_QUALITY_SCORE_METRIC


def checks_of(feature: Feature) -> tuple[str, ...]:
    if feature.type == "numeric":
        bounded = feature.min is not None or feature.max is not None
        return (MISSING, WRONG_TYPE, OUT_OF_BOUNDS) if bounded else (MISSING, WRONG_TYPE)
    return (MISSING, UNSEEN)


@dataclass
class DataQualityCounts:
    """Counts per feature and check over the chunks fed to `update`."""

    schema: DatasetSchema
    known: dict[str, set[str]]  # the categories each categorical feature may take
    n_rows: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def start(cls, schema: DatasetSchema, profile: ReferenceProfile | None) -> DataQualityCounts:
        known = {}
        for f in schema.features:
            if f.type != "categorical":
                continue
            if f.categories is not None:
                known[f.name] = set(f.categories)
            elif profile is not None and f.name in profile.stats:
                known[f.name] = set(getattr(profile.stats[f.name], "counts", {}))
        counts = {f.name: dict.fromkeys(checks_of(f), 0) for f in schema.features}
        return cls(schema=schema, known=known, counts=counts)

    def update(self, raw: pd.DataFrame, typed: pd.DataFrame | None = None) -> None:
        """raw: the values as sent; typed (optional): the same rows as the model read them
        (capture's frame), which saves parsing the numbers a second time."""
        self.n_rows += len(raw)
        for f in self.schema.features:
            col = raw[f.name] if f.name in raw else pd.Series([None] * len(raw), dtype=object)
            text = _texts(col)
            missing = text.isna()
            c = self.counts[f.name]
            c[MISSING] += int(missing.sum())
            if f.type == "numeric":
                values = (
                    typed[f.name].reset_index(drop=True)
                    if typed is not None and f.name in typed
                    else pd.to_numeric(text, errors="coerce")
                )
                values.index = text.index
                c[WRONG_TYPE] += int((~missing & values.isna()).sum())
                if OUT_OF_BOUNDS in c:
                    x = values.astype(float).to_numpy()  # NaN compares False both ways
                    low = x < f.min if f.min is not None else np.zeros(len(x), bool)
                    high = x > f.max if f.max is not None else np.zeros(len(x), bool)
                    c[OUT_OF_BOUNDS] += int((low | high).sum())
            elif f.name in self.known:
                c[UNSEEN] += int((~missing & ~text.isin(self.known[f.name])).sum())


def data_quality_section(
    counts: DataQualityCounts, profile: ReferenceProfile | None, *, min_rows: int
) -> dict[str, Any]:
    features = {}
    score = 0.0
    for f in counts.schema.features:
        checks = {}
        for check, n in counts.counts[f.name].items():
            share = n / counts.n_rows if counts.n_rows else None
            base = baseline_share(profile, f, check)
            excess = max(0.0, share - (base or 0.0)) if share is not None else None
            score = max(score, excess or 0.0)
            checks[check] = {"count": n, "share": share, "baseline_share": base, "excess": excess}
        features[f.name] = checks
    enough = counts.n_rows >= min_rows
    return {
        "n_rows": counts.n_rows,
        "min_rows": min_rows,
        "status": "ok" if enough else "insufficient_data",
        "score": score if enough else None,
        "features": features,
    }


def baseline_share(profile: ReferenceProfile | None, feature: Feature, check: str) -> float | None:
    """The training data's share for the check, where the profile tells it (None: unknown)."""
    stats = profile.stats.get(feature.name) if profile is not None else None
    n_rows = getattr(stats, "n_rows", 0)
    if stats is None or not n_rows:
        return None
    if check == MISSING:
        return float(getattr(stats, "n_nan", getattr(stats, "n_null", 0))) / n_rows
    if check == WRONG_TYPE:
        return float(stats.n_invalid) / n_rows
    if check == OUT_OF_BOUNDS:
        if stats.n_finite == 0:
            return None
        inside = (feature.min is None or stats.vmin >= feature.min) and (
            feature.max is None or stats.vmax <= feature.max
        )
        return 0.0 if inside else None  # the histogram cannot say how many were outside
    if check == UNSEEN:
        if feature.categories is None:
            return 0.0  # the known categories are the training data's own
        valid = stats.n_valid
        outside = sum(n for k, n in stats.counts.items() if k not in set(feature.categories))
        return outside / valid if valid else None
    return None


def data_quality_values(section: dict[str, Any]) -> dict[str, float]:
    """Metric name -> value: the score and every share, once there are enough rows."""
    if section["score"] is None:
        return {}
    values = {DATA_QUALITY_SCORE: float(section["score"])}
    for name, checks in section["features"].items():
        for check, figures in checks.items():
            values[data_quality_metric(check, name)] = float(figures["share"])
    return values


def _texts(col: pd.Series) -> pd.Series:
    """_text of every value; text columns (all of CSV capture) in one vectorized pass."""
    if pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty"):
        stripped = col.astype("string").str.strip()
        return stripped.mask(stripped == "")
    return col.map(_text)


def _text(value: Any) -> Any:
    """A value as the model reads it: None for missing (None, NaN, empty text), else text;
    JSON 2.0 and CSV "2" are one category."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None
