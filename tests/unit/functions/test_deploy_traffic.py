"""Traffic shifting follows the fleet: SageMaker's canary and timeout rules, for every size."""

from __future__ import annotations

import pytest

from emulator.service_rules import deployment_problems
from functions.deploy.traffic import blue_green_policy, canary_problem, replacement_policy


@pytest.mark.parametrize("instances", [1, 2, 3, 4, 10, 100])
@pytest.mark.parametrize("percent", [1, 10, 25, 50])
def test_every_fleet_gets_a_policy_sagemaker_accepts(instances, percent):
    policy = blue_green_policy(
        instance_count=instances,
        canary_percent=percent,
        wait_seconds=600,
        termination_wait_seconds=300,
    )
    assert deployment_problems({"BlueGreenUpdatePolicy": policy}, instances) == []
    assert 600 <= policy["MaximumExecutionTimeoutInSeconds"] <= 28_800


def test_one_instance_shifts_all_at_once_and_bakes_for_the_canary_wait():
    policy = blue_green_policy(
        instance_count=1, canary_percent=10, wait_seconds=300, termination_wait_seconds=300
    )
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "ALL_AT_ONCE",
        "WaitIntervalInSeconds": 300,
    }


def test_a_fleet_that_can_take_a_canary_gets_one_of_at_least_one_instance():
    routing = blue_green_policy(
        instance_count=4, canary_percent=10, wait_seconds=300, termination_wait_seconds=0
    )["TrafficRoutingConfiguration"]
    assert routing["Type"] == "CANARY"
    assert routing["CanarySize"] == {"Type": "INSTANCE_COUNT", "Value": 1}


def test_the_timeout_is_larger_than_the_longest_waits():
    policy = blue_green_policy(
        instance_count=2, canary_percent=50, wait_seconds=3600, termination_wait_seconds=3600
    )
    assert policy["MaximumExecutionTimeoutInSeconds"] > 7200
    assert deployment_problems({"BlueGreenUpdatePolicy": replacement_policy()}, 1) == []


def test_a_canary_above_half_the_fleet_is_refused_naming_the_value():
    assert canary_problem(50) is None
    assert "60%" in (canary_problem(60) or "")
