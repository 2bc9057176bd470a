"""How a blue/green update shifts traffic, derived from the fleet size.

SageMaker's rules (https://docs.aws.amazon.com/sagemaker/latest/APIReference/
API_TrafficRoutingConfig.html and https://docs.aws.amazon.com/sagemaker/latest/dg/
deployment-guardrails-blue-green-canary.html): a canary is at least one instance and at most half
the fleet, so a one-instance fleet cannot take a canary; it shifts all at once and bakes for the
same wait, watched by the same rollback alarms. `MaximumExecutionTimeoutInSeconds` (600-28800 s)
must be larger than the waits it covers (API_BlueGreenUpdatePolicy.html), so it is computed from
them with room for provisioning the green fleet.

The config model refuses what no fleet could take (a canary above half) with these same
functions, so the Lambda and `cdk synth` cannot disagree.
"""

from __future__ import annotations

import math
from typing import Any

CANARY_MAX_SHARE = 0.5
TIMEOUT_MIN_SECONDS = 600
TIMEOUT_MAX_SECONDS = 28_800
# Provisioning the green fleet takes most of a blue/green update's 15-25 minutes.
PROVISIONING_ALLOWANCE_SECONDS = 1800


def canary_instances(instance_count: int, canary_percent: int) -> int:
    """Instances SageMaker puts in a CAPACITY_PERCENT canary: rounded up, at least one."""
    return max(1, math.ceil(instance_count * canary_percent / 100))


def canary_problem(canary_percent: int) -> str | None:
    """Why no fleet of any size can take this canary, or None."""
    if canary_percent / 100 > CANARY_MAX_SHARE:
        return (
            f"a canary of {canary_percent}% is more than half the fleet; SageMaker takes at most "
            "50% (one-instance fleets shift all at once and bake instead)"
        )
    return None


def traffic_routing(instance_count: int, canary_percent: int, wait_seconds: int) -> dict[str, Any]:
    """CANARY when the fleet can take one, ALL_AT_ONCE with the same bake otherwise."""
    canary = canary_instances(instance_count, canary_percent)
    if canary <= instance_count * CANARY_MAX_SHARE:
        return {
            "Type": "CANARY",
            "CanarySize": {"Type": "INSTANCE_COUNT", "Value": canary},
            "WaitIntervalInSeconds": wait_seconds,
        }
    return {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": wait_seconds}


def execution_timeout(wait_seconds: int, termination_wait_seconds: int) -> int:
    """Larger than every wait it covers, within SageMaker's bounds."""
    needed = wait_seconds + termination_wait_seconds + PROVISIONING_ALLOWANCE_SECONDS
    return min(TIMEOUT_MAX_SECONDS, max(TIMEOUT_MIN_SECONDS, needed))


def blue_green_policy(
    *,
    instance_count: int,
    canary_percent: int,
    wait_seconds: int,
    termination_wait_seconds: int,
) -> dict[str, Any]:
    return {
        "TrafficRoutingConfiguration": traffic_routing(
            instance_count, canary_percent, wait_seconds
        ),
        "TerminationWaitInSeconds": termination_wait_seconds,
        "MaximumExecutionTimeoutInSeconds": execution_timeout(
            wait_seconds, termination_wait_seconds
        ),
    }


def replacement_policy() -> dict[str, Any]:
    """For taking a rejected model out of service: all at once, no bake, nothing to wait for."""
    return {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
        "TerminationWaitInSeconds": 0,
        "MaximumExecutionTimeoutInSeconds": execution_timeout(0, 0),
    }
