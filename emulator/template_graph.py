"""What a CloudFormation template's resources depend on, and references rewritten to values.

CloudFormation orders creation by `Ref`, `Fn::GetAtt`, `Fn::Sub` variables and `DependsOn`; the
deployer does the same to hand moto's CloudFormation the types it supports, wave by wave, with
references to the resources the runtime created itself replaced by their values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def sub_parts(argument: Any) -> tuple[str, dict[str, Any]]:
    """(text, variables) of an `Fn::Sub` argument in either of its forms."""
    if isinstance(argument, str):
        return argument, {}
    text, variables = argument
    return text, dict(variables)


def references(value: Any) -> set[tuple[str, str | None]]:
    """(logical id, attribute or None for Ref) of every reference in a template fragment;
    pseudo parameters (`AWS::...`) are left out."""
    found: set[tuple[str, str | None]] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                found.add((argument, None))
            elif key == "Fn::GetAtt":
                logical, attribute = (
                    argument if isinstance(argument, list) else argument.split(".", 1)
                )
                found.add((logical, attribute))
            elif key == "Fn::Sub":
                text, variables = sub_parts(argument)
                for name in _SUB_VARIABLE.findall(text):
                    if name in variables:
                        continue
                    logical, _, attribute = name.partition(".")
                    found.add((logical, attribute or None))
                found |= references(variables)
            else:
                found |= references(argument)
    return {(logical, attr) for logical, attr in found if not logical.startswith("AWS::")}


def dependencies(template: Mapping[str, Any]) -> dict[str, set[str]]:
    """Logical id -> the resources it needs to exist first."""
    resources = template.get("Resources", {})
    out: dict[str, set[str]] = {}
    for logical, resource in resources.items():
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else list(depends)
        refs = {name for name, _ in references(resource)}
        out[logical] = {d for d in (*refs, *depends) if d in resources and d != logical}
    return out


def substitute(
    value: Any,
    known: Callable[[str], bool],
    lookup: Callable[[str, str | None], str],
) -> Any:
    """`value` with every reference to a `known` resource replaced by its `lookup` value."""
    if isinstance(value, list):
        return [substitute(v, known, lookup) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str) and known(argument):
            return lookup(argument, None)
        if key == "Fn::GetAtt":
            logical, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            if known(logical):
                return lookup(logical, attribute)
        if key == "Fn::Sub":
            text, variables = sub_parts(argument)

            def replace(match: re.Match[str]) -> str:
                name = match.group(1)
                logical, _, attribute = name.partition(".")
                if name not in variables and known(logical):
                    return lookup(logical, attribute or None)
                return match.group(0)

            text = _SUB_VARIABLE.sub(replace, text)
            variables = substitute(variables, known, lookup)
            return {"Fn::Sub": [text, variables] if variables else text}
    return {k: substitute(v, known, lookup) for k, v in value.items()}
