"""Current data against a stored reference profile: per-feature distances and decisions.

Decisions follow Evidently's defaults for samples over 1000 rows: normalized Wasserstein for
numeric columns with more than 5 distinct values (reference and current together),
Jensen-Shannon otherwise and for categorical columns, drifted when the distance >= threshold.
No input makes this raise: odd cases come back with statistic None (or a special value) and a
reason. Features without a decision (missing, empty, all null) are left out of drift_score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from pipelines.drift import distances as dist
from pipelines.drift.categorical import CategoryCounts
from pipelines.drift.numeric import LOW_CARDINALITY, NumericHist
from pipelines.drift.plot import categorical_hists, numeric_hists
from pipelines.drift.profile import ReferenceProfile, accumulate

WASSERSTEIN, JENSENSHANNON = "wasserstein", "jensenshannon"
# Reasons that still carry a decision (and so count in drift_score).
_DECIDED_REASONS = {None, "type_changed", "constant_reference", "low_cardinality"}


@dataclass
class FeatureDrift:
    name: str
    kind: str
    method: str
    statistic: float | None
    threshold: float
    drifted: bool
    psi: float | None = None
    ks: float | None = None
    reason: str | None = None
    reference_hist: dict[str, Any] = field(default_factory=dict)
    current_hist: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)  # counts behind the figures

    @property
    def evaluated(self) -> bool:
        return self.reason in _DECIDED_REASONS


@dataclass
class DriftReport:
    features: dict[str, FeatureDrift]
    n_current: int
    n_reference: int

    @property
    def drift_score(self) -> float:
        decided = [f for f in self.features.values() if f.evaluated]
        return sum(f.drifted for f in decided) / len(decided) if decided else 0.0

    @property
    def drifted_features(self) -> list[str]:
        return [n for n, f in self.features.items() if f.drifted]

    def to_dict(self) -> dict[str, Any]:
        return {
            "drift_score": self.drift_score,
            "n_current": self.n_current,
            "n_reference": self.n_reference,
            "n_drifted": len(self.drifted_features),
            "n_evaluated": sum(f.evaluated for f in self.features.values()),
            "drifted_features": self.drifted_features,
            "features": {n: _finite(asdict(f)) for n, f in self.features.items()},
        }


def check_drift(
    profile: ReferenceProfile,
    chunks: Iterable[Any],
    *,
    thresholds: Mapping[str, float] | None = None,
    default_threshold: float = 0.1,
    threads: int | None = None,
) -> DriftReport:
    """One pass over the current chunks against the profile; memory does not grow with rows."""
    current = {name: _current_like(acc) for name, acc in profile.stats.items()}
    n_current, seen = accumulate(chunks, current, threads)
    thresholds = thresholds or {}
    out: dict[str, FeatureDrift] = {}
    for name, kind in profile.features.items():
        threshold = float(thresholds.get(name, default_threshold))
        ref, cur = profile.stats[name], current[name]
        if isinstance(ref, NumericHist) and isinstance(cur, NumericHist):
            f = _numeric(name, ref, cur, threshold)
        elif isinstance(ref, CategoryCounts) and isinstance(cur, CategoryCounts):
            f = _categorical(name, ref, cur, threshold)
        else:  # unreachable with a well-formed profile; still no exception for the run
            f = FeatureDrift(name, kind, WASSERSTEIN, None, threshold, False, reason="bad_profile")
        if n_current == 0:
            f = _undecided(f, "empty_window")
        elif name not in seen:
            f = _undecided(f, "missing_in_current")
        out[name] = f
    return DriftReport(features=out, n_current=n_current, n_reference=profile.n_rows)


def _current_like(acc: NumericHist | CategoryCounts) -> NumericHist | CategoryCounts:
    return acc.empty_like() if isinstance(acc, NumericHist) else CategoryCounts()


def _undecided(f: FeatureDrift, reason: str) -> FeatureDrift:
    f.statistic, f.psi, f.ks, f.drifted, f.reason = None, None, None, False, reason
    return f


def _numeric(name: str, ref: NumericHist, cur: NumericHist, threshold: float) -> FeatureDrift:
    f = FeatureDrift(name, "numeric", WASSERSTEIN, None, threshold, False)
    f.details = {
        "reference": _numeric_counts(ref),
        "current": _numeric_counts(cur),
        "reference_mean": ref.mean if ref.n_finite else None,
        "reference_std": ref.std if ref.n_finite else None,
    }
    if cur.n_rows > 0 and cur.n_invalid > 0 and cur.n_invalid == cur.n_rows - cur.n_nan:
        f.drifted, f.reason = True, "type_changed"  # numbers became text: the schema drifted
        return f
    if ref.n_finite == 0:
        f.reason = "all_null_reference"
        return f
    if cur.n_finite == 0:
        f.reason = "no_finite_values" if cur.n_inf else "all_null"
        return f
    f.reference_hist, f.current_hist = numeric_hists(ref, cur)
    f.ks = dist.ks(ref, cur)
    f.psi = dist.numeric_psi(ref, cur)
    if ref.distinct is not None and cur.distinct is not None:
        keys = sorted(set(ref.distinct) | set(cur.distinct))
        if len(keys) <= LOW_CARDINALITY:
            p, q = dist.shares(ref.distinct, keys), dist.shares(cur.distinct, keys)
            f.method, f.statistic = JENSENSHANNON, dist.jensenshannon(p, q)
            f.psi = dist.psi(p, q)
            f.reason = "constant_reference" if len(ref.distinct) == 1 else "low_cardinality"
            f.drifted = f.statistic >= threshold
            return f
    f.statistic = dist.wasserstein_norm(ref, cur)
    if ref.vmin == ref.vmax:
        f.reason = "constant_reference"  # normalised by Evidently's 0.001 floor
    f.drifted = f.statistic >= threshold
    return f


def _categorical(
    name: str, ref: CategoryCounts, cur: CategoryCounts, threshold: float
) -> FeatureDrift:
    f = FeatureDrift(name, "categorical", JENSENSHANNON, None, threshold, False)
    unseen = [k for k in cur.counts if k not in ref.counts]
    f.details = {
        "reference": {"rows": ref.n_rows, "null": ref.n_null, "categories": len(ref.counts)},
        "current": {"rows": cur.n_rows, "null": cur.n_null, "categories": len(cur.counts)},
        "unseen_categories": len(unseen),
        "unseen_share": sum(cur.counts[k] for k in unseen) / cur.n_valid if cur.n_valid else 0.0,
    }
    if ref.n_valid == 0:
        f.reason = "all_null_reference"
        return f
    if cur.n_valid == 0:
        f.reason = "all_null"
        return f
    keys = sorted(ref.counts, key=lambda k: -ref.counts[k]) + sorted(
        unseen, key=lambda k: -cur.counts[k]
    )
    p, q = dist.shares(ref.counts, keys), dist.shares(cur.counts, keys)
    f.reference_hist, f.current_hist = categorical_hists(keys, ref.counts, cur.counts)
    f.statistic, f.psi = dist.jensenshannon(p, q), dist.psi(p, q)
    f.drifted = f.statistic >= threshold
    if ref.value_kind and cur.value_kind and ref.value_kind != cur.value_kind:
        f.reason = "type_changed"  # still compared as strings; the reason flags the schema
    return f


def _numeric_counts(h: NumericHist) -> dict[str, int]:
    return {
        "rows": h.n_rows,
        "null": h.n_nan,
        "inf": h.n_inf,
        "invalid": h.n_invalid,
        "below_reference_grid": h.n_under,
        "above_reference_grid": h.n_over,
    }


def _finite(obj: Any) -> Any:
    """NaN and infinities as None, so the report is strict JSON."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj
