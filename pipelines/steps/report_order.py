"""The order features are shown in: drifted first, then by how far past the decision.

The drift engine calls a feature drifted when its distance reaches its threshold and its test,
after Holm's correction over the window's features, is significant at alpha = 1 - confidence
(pipelines.drift.check). The severity reads both the way the decision does: the distance as a
multiple of its threshold, the adjusted p-value as -log10 p / -log10 alpha, and the smaller of the
two, since drift needs both. It is 1.0 at the decision boundary, at least 1.0 exactly when the
feature drifted, and grows with the evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pipelines.drift.check import DEFAULT_CONFIDENCE

DEFAULT_ALPHA = 1.0 - DEFAULT_CONFIDENCE


def severity(feature: Mapping[str, Any], *, alpha: float = DEFAULT_ALPHA) -> float | None:
    """How many times past the decision the feature's evidence of drift is; None: no figure."""
    ratios = []
    statistic, threshold = _number(feature.get("statistic")), _number(feature.get("threshold"))
    if statistic is not None:
        ratios.append(statistic / threshold if threshold else statistic)
    p_value = _number(feature.get("p_adjusted"))
    if p_value is None:
        p_value = _number(feature.get("p_value"))
    if p_value is not None:
        ratios.append(-math.log10(max(p_value, 1e-300)) / -math.log10(alpha))
    if ratios:
        return min(ratios)
    return math.inf if feature.get("drifted") else None  # e.g. numbers turned into text


def by_severity(
    features: Mapping[str, Mapping[str, Any]] | None, *, alpha: float = DEFAULT_ALPHA
) -> list[Mapping[str, Any]]:
    """Drifted features first, each group from the most severe; features without a figure last
    in their group; ties by name."""

    def key(item: tuple[str, Mapping[str, Any]]) -> tuple[int, float, str]:
        name, f = item
        s = severity(f, alpha=alpha)
        return (0 if f.get("drifted") else 1, -s if s is not None else math.inf, name)

    return [f for _, f in sorted((features or {}).items(), key=key)]


def alpha_of(drift: Mapping[str, Any]) -> float:
    """The significance level a drift report was decided at."""
    confidence = _number(drift.get("confidence"))
    return 1.0 - confidence if confidence is not None and 0 < confidence < 1 else DEFAULT_ALPHA


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
