"""SageMaker's API rules, as SageMaker answers them: the input shapes, and blue/green deployments
against the fleet they shift."""

from __future__ import annotations

import botocore.session
import pytest

from emulator.service_rules import deployment_problems, shape_problems, validation_error

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"
SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")


def problems(operation: str, **params) -> list[str]:
    return shape_problems(SAGEMAKER.operation_model(operation).input_shape, params)


def test_names_longer_than_sagemaker_allows_are_refused():
    problem, pattern = problems("CreateEndpoint", EndpointName="e" * 64, EndpointConfigName="c")
    assert "regular expression pattern" in pattern  # AWS lists every constraint broken
    assert problem == (
        f"Value '{'e' * 64}' at 'endpointName' failed to satisfy constraint: Member must have "
        "length less than or equal to 63"
    )
    assert problems("CreateEndpoint", EndpointName="e" * 63, EndpointConfigName="c") == []
    assert problems("CreateEndpoint", EndpointName="bad_name", EndpointConfigName="c")


def test_customer_metadata_limits():
    too_many = {f"k{i}": "v" for i in range(51)}
    assert any(
        "customerMetadataProperties" in p
        for p in problems(
            "UpdateModelPackage", ModelPackageArn=ARN, CustomerMetadataProperties=too_many
        )
    )
    long_value = {"Lineage": "x" * 257}
    (problem,) = problems(
        "UpdateModelPackage", ModelPackageArn=ARN, CustomerMetadataProperties=long_value
    )
    assert "customerMetadataProperties.Lineage.value" in problem and "256" in problem


def test_enums_and_the_message_count_every_problem():
    found = problems("UpdateModelPackage", ModelPackageArn=ARN, ModelApprovalStatus="Maybe")
    assert "enum value set: [Approved, Rejected, PendingManualApproval]" in found[0]
    error = validation_error(found + ["another"])
    assert error.code == "ValidationException"
    assert error.message.startswith("2 validation errors detected: ")


def _canary(kind: str, value: int, *, wait: int = 300, timeout: int | None = None) -> dict:
    policy: dict = {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "CanarySize": {"Type": kind, "Value": value},
            "WaitIntervalInSeconds": wait,
        },
        "TerminationWaitInSeconds": 300,
    }
    if timeout is not None:
        policy["MaximumExecutionTimeoutInSeconds"] = timeout
    return {"BlueGreenUpdatePolicy": policy}


@pytest.mark.parametrize(
    ("config", "instances", "refused"),
    [
        (_canary("CAPACITY_PERCENT", 10), 1, True),  # one instance is all of a one-instance fleet
        (_canary("CAPACITY_PERCENT", 10), 10, False),
        (_canary("INSTANCE_COUNT", 2), 3, True),
        (_canary("INSTANCE_COUNT", 1), 2, False),
        (_canary("CAPACITY_PERCENT", 10, timeout=900), 10, False),
        (_canary("CAPACITY_PERCENT", 10, timeout=900, wait=599), 10, False),
        (_canary("CAPACITY_PERCENT", 10, timeout=900, wait=600), 10, True),  # 600 + 300 waits
        (
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "ALL_AT_ONCE",
                        "WaitIntervalInSeconds": 600,
                    }
                }
            },
            1,
            False,
        ),
        (
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "LINEAR",
                        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 5},
                        "WaitIntervalInSeconds": 60,
                    }
                }
            },
            20,
            True,
        ),
        (
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "LINEAR",
                        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
                        "WaitIntervalInSeconds": 60,
                    }
                }
            },
            4,
            False,
        ),
        (None, 1, False),
    ],
)
def test_blue_green_sizes_and_timeouts_against_the_fleet(config, instances, refused):
    assert bool(deployment_problems(config, instances)) is refused
