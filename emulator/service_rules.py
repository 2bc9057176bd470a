"""SageMaker's documented API rules, answered with SageMaker's errors.

botocore checks a request's required members and minimum lengths before it sends it; AWS checks
the rest of the input shape on arrival (maximum lengths, patterns, enums, ranges, list and map
sizes) and answers `ValidationException` listing every violation: "2 validation errors
detected: Value 'x' at 'endpointName' failed to satisfy constraint: Member must have length less
than or equal to 63; ...". moto checks almost none of it, so the front does, for the services
the runtime owns operations of, from the same service models. Rules a shape cannot express
(blue/green traffic routing against the fleet's size, the deployment's timeout against its
waits) are checked where the endpoint host applies a deployment.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

from botocore.model import OperationModel, Shape

from emulator.front import ServiceError
from emulator.requests import AwsRequest

RULED_SERVICES = ("sagemaker", "sagemaker-runtime")

# Java's Unicode classes, as Python's `re` can spell them inside a character class (letters as
# word characters: a little more lenient, never stricter, than the service).
_JAVA_CLASSES = {r"\p{L}": r"\w", r"\p{N}": r"\d", r"\p{Z}": r"\s", r"\p{P}": r"!-/:-@\[-`{-~"}


@functools.cache
def _pattern(text: str) -> re.Pattern[str] | None:
    translated = text
    for java, python in _JAVA_CLASSES.items():
        translated = translated.replace(java, python)
    try:
        return re.compile(translated)
    except re.error:
        return None  # a model pattern Python cannot read is not checked, never guessed


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def shape_problems(shape: Shape | None, value: Any, where: str = "") -> list[str]:
    """Every constraint of `shape` that `value` breaks, in AWS's wording."""
    if shape is None or value is None:
        return []
    meta = shape.metadata
    kind = shape.type_name
    shown = str(value)[:256]
    out: list[str] = []
    if kind == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            out.append(
                f"Value '{shown}' at '{where}' failed to satisfy constraint: Member must have "
                f"length less than or equal to {meta['max']}"
            )
        if meta.get("min", 0) > len(value):
            out.append(
                f"Value '{shown}' at '{where}' failed to satisfy constraint: Member must have "
                f"length greater than or equal to {meta['min']}"
            )
        enum = shape.enum
        if enum and value not in enum:
            out.append(
                f"Value '{shown}' at '{where}' failed to satisfy constraint: Member must satisfy "
                f"enum value set: [{', '.join(enum)}]"
            )
        pattern = _pattern(meta["pattern"]) if "pattern" in meta else None
        if pattern is not None and value and not pattern.fullmatch(value):
            out.append(
                f"Value '{shown}' at '{where}' failed to satisfy constraint: Member must satisfy "
                f"regular expression pattern: {meta['pattern']}"
            )
    elif kind in ("integer", "long", "float", "double") and isinstance(value, int | float):
        if "max" in meta and value > meta["max"]:
            out.append(
                f"Value '{shown}' at '{where}' failed to satisfy constraint: Member must have "
                f"value less than or equal to {meta['max']}"
            )
        if "min" in meta and value < meta["min"]:
            out.append(
                f"Value '{shown}' at '{where}' failed to satisfy constraint: Member must have "
                f"value greater than or equal to {meta['min']}"
            )
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            out.append(
                f"Value at '{where}' failed to satisfy constraint: Member must have length less "
                f"than or equal to {meta['max']}"
            )
        for i, item in enumerate(value):
            out += shape_problems(shape.member, item, f"{where}.{i + 1}.member")  # type: ignore[attr-defined]
    elif kind == "map" and isinstance(value, dict):
        if "max" in meta and len(value) > meta["max"]:
            out.append(
                f"Value at '{where}' failed to satisfy constraint: Member must have length less "
                f"than or equal to {meta['max']}"
            )
        for key, item in value.items():
            out += shape_problems(shape.key, key, f"{where}.{key}.key")  # type: ignore[attr-defined]
            out += shape_problems(shape.value, item, f"{where}.{key}.value")  # type: ignore[attr-defined]
    elif kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            path = f"{where}.{_camel(name)}" if where else _camel(name)
            out += shape_problems(member, value.get(name), path)
    return out


def validation_error(problems: list[str]) -> ServiceError:
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return ServiceError(
        "ValidationException", f"{count} validation {noun} detected: " + "; ".join(problems)
    )


def check_request(request: AwsRequest) -> ServiceError | None:
    """The front's rule for the services the runtime owns: the input shape, all of it."""
    model: OperationModel = request.model
    if model.input_shape is None:
        return None
    params = {k: v for k, v in request.params.items() if not isinstance(v, bytes)}
    problems = shape_problems(model.input_shape, params)
    return validation_error(problems) if problems else None


def deployment_problems(config: dict[str, Any] | None, instance_count: int) -> list[str]:
    """What SageMaker refuses in an UpdateEndpoint DeploymentConfig for a fleet of
    `instance_count` instances (https://docs.aws.amazon.com/sagemaker/latest/APIReference/
    API_TrafficRoutingConfig.html, API_BlueGreenUpdatePolicy.html)."""
    if not config or "BlueGreenUpdatePolicy" not in config:
        return []
    policy = config["BlueGreenUpdatePolicy"]
    routing = policy.get("TrafficRoutingConfiguration", {})
    kind = routing.get("Type", "ALL_AT_ONCE")
    out: list[str] = []

    def instances(size: dict[str, Any]) -> int:
        value = int(size.get("Value", 0))
        if size.get("Type") == "CAPACITY_PERCENT":
            return max(1, math.ceil(instance_count * value / 100))
        return value

    if kind == "CANARY":
        size = routing.get("CanarySize")
        if not size:
            out.append("CanarySize must be set for a CANARY traffic routing configuration")
        elif instances(size) > instance_count / 2:
            out.append(
                f"CanarySize {size} is {instances(size)} of {instance_count} instance(s): it must "
                "be less than or equal to 50% of the variant's total instance count"
            )
    if kind == "LINEAR":
        size = routing.get("LinearStepSize")
        if not size:
            out.append("LinearStepSize must be set for a LINEAR traffic routing configuration")
        else:
            share = instances(size) / instance_count
            if not 0.1 <= share <= 0.5:
                out.append(
                    f"LinearStepSize {size} is {instances(size)} of {instance_count} instance(s): "
                    "it must be 10-50% of the variant's total instance count"
                )
    wait = int(routing.get("WaitIntervalInSeconds", 0))
    steps = 1
    if kind == "LINEAR" and routing.get("LinearStepSize"):
        steps = math.ceil(instance_count / max(1, instances(routing["LinearStepSize"])))
    waits = wait * steps + int(policy.get("TerminationWaitInSeconds", 0))
    timeout = policy.get("MaximumExecutionTimeoutInSeconds")
    if timeout is not None and int(timeout) <= waits:
        out.append(
            f"MaximumExecutionTimeoutInSeconds {timeout} must be larger than the waits it covers "
            f"({waits} s of WaitIntervalInSeconds and TerminationWaitInSeconds)"
        )
    return out
