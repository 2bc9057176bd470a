"""The metrics the Evaluate step reports, per problem type, and which way is better.

The one table: Evaluate computes exactly these, the config accepts exactly these, and the
training pipeline's condition reads the direction from here. No numpy or scikit-learn, so the
config loads without them.
"""

from __future__ import annotations

from typing import Literal

ProblemType = Literal["classification", "regression"]

# metric -> greater is better
METRICS: dict[ProblemType, dict[str, bool]] = {
    "classification": {
        "roc_auc": True,
        "accuracy": True,
        "f1": True,
        "precision": True,
        "recall": True,
        "log_loss": False,
    },
    "regression": {"rmse": False, "mae": False, "mse": False, "r2": True},
}
# Shares (0 to 1); the others are errors in the target's units (log loss in nats), above 0.
# r2 may be negative, but a negative threshold would accept a model worse than the mean.
SHARE_METRICS = frozenset({"roc_auc", "accuracy", "f1", "precision", "recall", "r2"})


def metrics_for(problem_type: ProblemType) -> tuple[str, ...]:
    return tuple(METRICS[problem_type])


def greater_is_better(metric: str) -> bool:
    for directions in METRICS.values():
        if metric in directions:
            return directions[metric]
    raise ValueError(f"unknown metric {metric!r}: not one of {sorted(_all())}")


def _all() -> set[str]:
    return {name for directions in METRICS.values() for name in directions}
