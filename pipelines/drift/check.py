"""Current data against a stored reference profile: per-feature distances and decisions.

Distances follow Evidently's defaults for samples over 1000 rows: normalized Wasserstein for
numeric columns with more than 5 distinct values (reference and current together),
Jensen-Shannon otherwise and for categorical columns. A feature drifts when that distance
reaches its threshold and the difference is significant at the stated confidence after Holm's
correction over the features tested (pipelines.drift.decision); below min_rows rows nothing is
decided (insufficient_data). No input makes this raise: odd cases come back with statistic None
(or a special value) and a reason. Features without a decision (missing, empty, all null, too
few rows) are left out of drift_score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from pipelines.drift import decision
from pipelines.drift import distances as dist
from pipelines.drift.categorical import CategoryCounts
from pipelines.drift.numeric import LOW_CARDINALITY, NumericHist
from pipelines.drift.plot import categorical_hists, numeric_hists
from pipelines.drift.profile import ReferenceProfile, accumulate

WASSERSTEIN, JENSENSHANNON = "wasserstein", "jensenshannon"
CVM_TEST, CHI2_TEST = "cvm", "chi2"
INSUFFICIENT_DATA = "insufficient_data"
DEFAULT_CONFIDENCE = 0.995  # at most 0.5% of windows of unchanged traffic flag any feature
DEFAULT_MIN_ROWS = 30  # below this a window is too small to decide anything
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
    test: str | None = None  # "cvm" | "chi2": the test behind p_value
    p_value: float | None = None
    p_adjusted: float | None = None  # Holm over the features tested in the window
    significant: bool = False
    reference_hist: dict[str, Any] = field(default_factory=dict)
    current_hist: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)  # counts behind the figures

    @property
    def evaluated(self) -> bool:
        return self.reason in _DECIDED_REASONS

    @property
    def alarm_value(self) -> float | None:
        """What the feature's alarm compares with its threshold: the distance when the
        difference is significant, else 0, so `alarm_value >= threshold` iff drifted."""
        if not self.evaluated:
            return None
        if self.statistic is None:
            return 1.0 if self.drifted else None  # e.g. numbers turned into text
        return float(self.statistic) if self.significant else 0.0


@dataclass
class DriftReport:
    features: dict[str, FeatureDrift]
    n_current: int
    n_reference: int
    confidence: float = DEFAULT_CONFIDENCE
    min_rows: int = DEFAULT_MIN_ROWS

    @property
    def sufficient(self) -> bool:
        return self.n_current >= self.min_rows

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
            "confidence": self.confidence,
            "min_rows": self.min_rows,
            "sufficient": self.sufficient,
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
    confidence: float = DEFAULT_CONFIDENCE,
    min_rows: int = DEFAULT_MIN_ROWS,
    threads: int | None = None,
) -> DriftReport:
    """One pass over the current chunks against the profile; memory does not grow with rows.

    A feature with fewer than min_rows usable values (a window with fewer rows: every feature)
    is not decided (reason insufficient_data).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}")
    if min_rows < 1:
        raise ValueError(f"min_rows must be at least 1, got {min_rows!r}")
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
        elif f.evaluated and _usable_rows(cur) < min_rows:
            f = _undecided(f, INSUFFICIENT_DATA)
        out[name] = f
    _decide(out, 1.0 - confidence)
    return DriftReport(
        features=out,
        n_current=n_current,
        n_reference=profile.n_rows,
        confidence=confidence,
        min_rows=min_rows,
    )


def _usable_rows(cur: NumericHist | CategoryCounts) -> int:
    """Non-null values: numbers (and, for a type change, the text that replaced them)."""
    return cur.n_finite + cur.n_invalid if isinstance(cur, NumericHist) else cur.n_valid


def _decide(features: dict[str, FeatureDrift], alpha: float) -> None:
    """Holm over the features with a p-value; drifted = significant and distance >= threshold."""
    tested = [f for f in features.values() if f.evaluated and f.p_value is not None]
    for f, adjusted in zip(
        tested, decision.holm_adjusted([f.p_value or 0.0 for f in tested]), strict=True
    ):
        f.p_adjusted = adjusted
        f.significant = adjusted <= alpha
        f.drifted = f.significant and f.statistic is not None and f.statistic >= f.threshold


def _current_like(acc: NumericHist | CategoryCounts) -> NumericHist | CategoryCounts:
    return acc.empty_like() if isinstance(acc, NumericHist) else CategoryCounts()


def _undecided(f: FeatureDrift, reason: str) -> FeatureDrift:
    f.statistic, f.psi, f.ks, f.drifted, f.reason = None, None, None, False, reason
    f.test, f.p_value = None, None
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
            r = np.array([ref.distinct.get(k, 0) for k in keys], dtype=np.float64)
            c = np.array([cur.distinct.get(k, 0) for k in keys], dtype=np.float64)
            p, q = r / r.sum(), c / c.sum()
            f.method, f.statistic = JENSENSHANNON, dist.jensenshannon(p, q)
            f.psi = dist.psi(p, q)
            f.test, f.p_value = CHI2_TEST, decision.chi2_pvalue(r, c)[1]
            f.reason = "constant_reference" if len(ref.distinct) == 1 else "low_cardinality"
            return f
    f.statistic = dist.wasserstein_norm(ref, cur)
    f.test, f.p_value = CVM_TEST, decision.cvm_test(*_cells(ref, cur))[1]
    if ref.vmin == ref.vmax:
        f.reason = "constant_reference"  # normalised by Evidently's 0.001 floor
    return f


def _cells(ref: NumericHist, cur: NumericHist) -> tuple[np.ndarray, np.ndarray]:
    """Both samples' counts over the same ordered cells: below the grid, its bins, above it
    (the reference grid holds all of the reference, so only the current side fills the ends)."""
    return (
        np.concatenate(([ref.n_under], ref.counts, [ref.n_over])),
        np.concatenate(([cur.n_under], cur.counts, [cur.n_over])),
    )


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
    r = np.array([ref.counts.get(k, 0) for k in keys], dtype=np.float64)
    c = np.array([cur.counts.get(k, 0) for k in keys], dtype=np.float64)
    f.test, f.p_value = CHI2_TEST, decision.chi2_pvalue(r, c)[1]
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
