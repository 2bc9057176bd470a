"""The registration gate, as a pure function.

The pipeline's ConditionStep evaluates the same rule on the evaluation file (JsonGet); this
function writes the decision and its reasons into that file so a person reading it sees why.

The threshold is checked against the gate value: the metric itself (`point`), or the side of its
bootstrap confidence interval that is least favourable to the model (`lower_bound`: the lower
bound of a metric where greater is better, the upper bound of an error), so a small test set
that happened to score well does not pass on luck. The comparison with the live model uses the
metric itself (the live value is a point too).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Literal

Gate = Literal["point", "lower_bound"]
GATES: tuple[str, ...] = ("point", "lower_bound")
# The gate value when the interval is undefined (no resample had a defined metric): one that
# fails any threshold, in a form the Condition's JsonGet and JSON itself can carry.
UNDEFINED_BOUND = sys.float_info.max


@dataclass(frozen=True)
class ConditionDecision:
    passed: bool
    reasons: list[str] = field(default_factory=list)


def compare_with_live(value: float, live_value: float | None, greater_is_better: bool) -> float:
    """How much worse the candidate is than the live model (negative: better); 0 for the first."""
    if live_value is None:
        return 0.0
    return float(live_value - value) if greater_is_better else float(value - live_value)


def gate_value(
    value: float,
    interval: tuple[float, float] | None,
    *,
    gate: Gate,
    greater_is_better: bool,
) -> float:
    """What the threshold is checked against: the metric, or its unfavourable bound."""
    if gate == "point":
        return value
    if interval is None:
        return -UNDEFINED_BOUND if greater_is_better else UNDEFINED_BOUND
    return interval[0] if greater_is_better else interval[1]


def decide_condition(
    *,
    value: float,
    threshold: float,
    regression: float,
    tolerance: float,
    greater_is_better: bool,
    live_value: float | None = None,
    gate: Gate = "point",
    gated: float | None = None,
    confidence: float | None = None,
) -> ConditionDecision:
    """`gated` is gate_value(...) when the gate is `lower_bound`; the metric itself otherwise."""
    reasons = []
    checked = value if gated is None else gated
    meets = checked >= threshold if greater_is_better else checked <= threshold
    if not meets:
        side = "below" if greater_is_better else "above"
        if gate == "point":
            reasons.append(f"metric {value:.4f} is {side} the threshold {threshold:.4f}")
        elif abs(checked) == UNDEFINED_BOUND:
            reasons.append(
                f"metric {value:.4f} has no confidence interval (undefined on every bootstrap "
                "resample of the test set), so its bound cannot pass the threshold"
            )
        else:
            bound = "lower" if greater_is_better else "upper"
            level = f"{confidence:.0%} " if confidence is not None else ""
            reasons.append(
                f"the {level}{bound} bound {checked:.4f} of metric {value:.4f} is {side} the "
                f"threshold {threshold:.4f}"
            )
    if regression > tolerance:
        reasons.append(
            f"metric {value:.4f} is worse than the live model's {live_value} by {regression:.4f}, "
            f"more than the tolerance {tolerance:.4f}"
        )
    return ConditionDecision(not reasons, reasons)
