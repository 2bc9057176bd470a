"""Evaluating a pipeline definition's expressions: parameters, properties, functions, conditions.

A definition's values are plain JSON except for a handful of forms:
`{"Get": "Parameters.X" | "Execution.X" | "Steps.X.<property path>"}`, `{"Std:Join": ...}`,
`{"Std:JsonGet": ...}`, and condition objects. `Context` holds what they read; `resolve` turns a
value into plain JSON. Anything else shaped like a function raises `UnsupportedError` naming it,
so the execution fails visibly instead of passing a dict where a string was meant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]|\[(\d+)\]"
)


class DefinitionError(Exception):
    """The definition cannot be evaluated (bad reference, bad value)."""


class UnsupportedError(DefinitionError):
    """The definition uses a step type, function or condition the local runtime does not run."""


@dataclass
class Context:
    parameters: dict[str, Any]
    execution: dict[str, Any]
    # Step name -> its properties, shaped like the Describe*Job response SageMaker exposes.
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Step name -> property file name -> parsed JSON.
    property_files: dict[str, dict[str, Any]] = field(default_factory=dict)


def parameter_values(
    declared: list[Mapping[str, Any]], overrides: Mapping[str, str]
) -> dict[str, Any]:
    """Defaults overlaid with the execution's overrides, typed as the definition declares."""
    names = {p["Name"] for p in declared}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise DefinitionError(f"unknown pipeline parameter(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for p in declared:
        name, kind = p["Name"], p.get("Type", "String")
        raw = overrides.get(name, p.get("DefaultValue"))
        if raw is None:
            raise DefinitionError(f"parameter {name} has no value and no default")
        try:
            if kind == "Integer":
                values[name] = int(raw)
            elif kind == "Float":
                values[name] = float(raw)
            elif kind == "Boolean":
                values[name] = raw if isinstance(raw, bool) else str(raw).lower() == "true"
            elif kind == "String":
                values[name] = str(raw)
            else:
                raise UnsupportedError(f"parameter type {kind} (parameter {name})")
        except ValueError as exc:
            raise DefinitionError(f"parameter {name}: {raw!r} is not a valid {kind}") from exc
    return values


def parse_path(path: str) -> list[str | int]:
    """`Outputs['train'].S3Output.S3Uri` -> ['Outputs', 'train', 'S3Output', 'S3Uri']."""
    tokens: list[str | int] = []
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if not match or match.end() == pos:
            raise DefinitionError(f"cannot parse property path {path!r} at {path[pos:]!r}")
        name, quoted, dquoted, index = match.groups()
        if index is not None:
            tokens.append(int(index))
        else:
            tokens.append(name or quoted or dquoted or "")
        pos = match.end()
    return tokens


def walk(value: Any, tokens: list[str | int], where: str) -> Any:
    for token in tokens:
        by_index = isinstance(token, int) and isinstance(value, list) and token < len(value)
        if by_index or (isinstance(token, str) and isinstance(value, dict) and token in value):
            value = value[token]
        elif isinstance(token, str) and isinstance(value, list):
            # Outputs['train']: the list item whose *Name field is the key.
            found = [
                item
                for item in value
                if isinstance(item, dict)
                and any(k.endswith("Name") and v == token for k, v in item.items())
            ]
            if not found:
                raise DefinitionError(f"{where}: no item named {token!r}")
            value = found[0]
        else:
            raise DefinitionError(f"{where}: no {token!r}")
    return value


def get(ref: str, ctx: Context) -> Any:
    head, _, rest = ref.partition(".")
    if head == "Parameters":
        if rest not in ctx.parameters:
            raise DefinitionError(f"unknown parameter {rest!r}")
        return ctx.parameters[rest]
    if head == "Execution":
        if rest not in ctx.execution:
            raise UnsupportedError(f"execution variable Execution.{rest}")
        return ctx.execution[rest]
    if head == "Steps":
        step, _, path = rest.partition(".")
        if step not in ctx.steps:
            raise DefinitionError(f"{ref}: step {step!r} has not run")
        tokens = parse_path(path)
        if tokens[:1] == ["PropertyFiles"] and len(tokens) == 2:
            files = ctx.property_files.get(step, {})
            if tokens[1] not in files:
                raise DefinitionError(f"{ref}: step {step} has no property file {tokens[1]!r}")
            return files[tokens[1]]
        return walk(ctx.steps[step], tokens, ref)
    raise UnsupportedError(f"reference {ref!r}")


def json_get(args: Mapping[str, Any], ctx: Context) -> Any:
    source = args.get("PropertyFile")
    if isinstance(source, dict) and "Get" in source:
        document = get(source["Get"], ctx)
    else:
        raise UnsupportedError(f"Std:JsonGet source {source!r}")
    path = str(resolve(args["Path"], ctx))
    return walk(document, parse_path(path), f"Std:JsonGet {path}")


def to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def resolve(value: Any, ctx: Context) -> Any:
    """The plain JSON value of a definition fragment."""
    if isinstance(value, list):
        return [resolve(v, ctx) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"}:
        return get(value["Get"], ctx)
    if set(value) == {"Std:Join"}:
        join = value["Std:Join"]
        return to_text(resolve(join.get("On", ""), ctx)).join(
            to_text(resolve(v, ctx)) for v in join["Values"]
        )
    if set(value) == {"Std:JsonGet"}:
        return json_get(value["Std:JsonGet"], ctx)
    functions = [k for k in value if k.startswith("Std:")]
    if functions:
        raise UnsupportedError(f"function {functions[0]}")
    return {k: resolve(v, ctx) for k, v in value.items()}


def _compare(kind: str, left: Any, right: Any) -> bool:
    if kind == "Equals":
        return bool(left == right)
    try:
        lhs, rhs = float(left), float(right)
    except (TypeError, ValueError) as exc:
        raise DefinitionError(f"{kind}: cannot compare {left!r} with {right!r}") from exc
    return {
        "GreaterThan": lhs > rhs,
        "GreaterThanOrEqualTo": lhs >= rhs,
        "LessThan": lhs < rhs,
        "LessThanOrEqualTo": lhs <= rhs,
    }[kind]


_COMPARISONS = ("Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo")


def evaluate_condition(condition: Mapping[str, Any], ctx: Context) -> bool:
    kind = str(condition.get("Type", "")).removeprefix("Condition")
    if kind in _COMPARISONS:
        left = resolve(condition["LeftValue"], ctx)
        right = resolve(condition["RightValue"], ctx)
        return _compare(kind, left, right)
    if kind == "In":
        query = resolve(condition["QueryValue"], ctx)
        return query in resolve(condition["Values"], ctx)
    if kind == "Not":
        return not evaluate_condition(condition["Expression"], ctx)
    if kind == "Or":
        return any(evaluate_condition(c, ctx) for c in condition["Conditions"])
    if kind == "And":
        return all(evaluate_condition(c, ctx) for c in condition["Conditions"])
    raise UnsupportedError(f"condition type {condition.get('Type')!r}")


def step_references(value: Any) -> set[str]:
    """Names of the steps a fragment reads properties of: its implicit dependencies."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= step_references(v)
    elif isinstance(value, dict):
        ref = value.get("Get")
        if isinstance(ref, str) and ref.startswith("Steps."):
            found.add(ref.split(".")[1])
        for v in value.values():
            found |= step_references(v)
    return found
