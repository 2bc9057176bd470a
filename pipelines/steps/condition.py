"""The registration gate, as a pure function.

The pipeline's ConditionStep evaluates the same rule on the evaluation file (JsonGet); this
function writes the decision and its reasons into that file so a person reading it sees why.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ConditionDecision:
    passed: bool
    reasons: list[str] = field(default_factory=list)


def compare_with_live(value: float, live_value: float | None, greater_is_better: bool) -> float:
    """How much worse the candidate is than the live model (negative: better); 0 for the first."""
    if live_value is None:
        return 0.0
    return float(live_value - value) if greater_is_better else float(value - live_value)


def decide_condition(
    *,
    value: float,
    threshold: float,
    regression: float,
    tolerance: float,
    greater_is_better: bool,
    live_value: float | None = None,
) -> ConditionDecision:
    reasons = []
    meets = value >= threshold if greater_is_better else value <= threshold
    if not meets:
        side = "below" if greater_is_better else "above"
        reasons.append(f"metric {value:.4f} is {side} the threshold {threshold:.4f}")
    if regression > tolerance:
        reasons.append(
            f"metric {value:.4f} is worse than the live model's {live_value} by {regression:.4f}, "
            f"more than the tolerance {tolerance:.4f}"
        )
    return ConditionDecision(not reasons, reasons)
