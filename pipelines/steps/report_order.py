"""The order features are shown in: drifted first, then by how far past their threshold.

The severity is computed from what a feature entry carries, so it holds for either kind of
decision: a distance against its threshold (statistic / threshold), or a test's p-value against
its significance level (-log10 p / -log10 alpha). Both read 1.0 at the decision boundary and
grow with the evidence of drift, so features decided either way sort on one scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

DEFAULT_ALPHA = 0.05
_P_VALUE_KEYS = ("p_value", "pvalue")
_ALPHA_KEYS = ("alpha", "significance", "p_threshold")


def severity(feature: Mapping[str, Any]) -> float | None:
    """How many times its threshold the feature's evidence of drift is; None: no figure."""
    p_value = _first(feature, _P_VALUE_KEYS)
    if p_value is not None:
        alpha = _first(feature, _ALPHA_KEYS)
        if alpha is None and _number(feature.get("confidence")) is not None:
            alpha = 1.0 - float(feature["confidence"])
        alpha = alpha if alpha is not None and 0 < alpha < 1 else DEFAULT_ALPHA
        return -math.log10(max(p_value, 1e-300)) / -math.log10(alpha)
    statistic, threshold = _number(feature.get("statistic")), _number(feature.get("threshold"))
    if statistic is None:
        return math.inf if feature.get("drifted") else None  # e.g. numbers turned into text
    if not threshold:
        return statistic
    ratio = statistic / threshold
    if feature.get("drifted") and ratio < 1:
        # A drifted feature under its threshold: a figure where smaller means drift (a p-value
        # kept as the statistic); its severity is then the inverse ratio.
        return threshold / statistic if statistic > 0 else math.inf
    return ratio


def by_severity(features: Mapping[str, Mapping[str, Any]] | None) -> list[Mapping[str, Any]]:
    """Drifted features first, each group from the most severe; features without a figure last
    in their group; ties by name."""

    def key(item: tuple[str, Mapping[str, Any]]) -> tuple[int, float, str]:
        name, f = item
        s = severity(f)
        return (0 if f.get("drifted") else 1, -s if s is not None else math.inf, name)

    return [f for _, f in sorted((features or {}).items(), key=key)]


def _first(feature: Mapping[str, Any], keys: tuple[str, ...]) -> float | None:
    for k in keys:
        value = _number(feature.get(k))
        if value is not None:
            return value
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
