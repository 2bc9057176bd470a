"""The template's grants and which of them no call exercised.

A grant entry is one action pattern on one resource pattern of an Allow statement of a role's
identity policies in the template (`AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`), resolved as
deployed. The authorizer records, per role, the (action pattern, resource pattern) pairs of the
statements that allowed a call; an entry no allowed call matched is unused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def template_grants(
    template: Mapping[str, Any], resolve: Any, role_names: Mapping[str, str]
) -> dict[str, list[dict[str, str]]]:
    """role name -> its grant entries: {"policy", "sid", "action", "resource"}."""
    out: dict[str, list[dict[str, str]]] = {}
    for logical, resource in template.get("Resources", {}).items():
        if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        props = resource["Properties"]
        document = resolve(props["PolicyDocument"])
        roles = [
            role_names.get(r["Ref"], r["Ref"]) if isinstance(r, dict) and "Ref" in r else str(r)
            for r in props.get("Roles", [])
        ]
        for statement in _listed(document.get("Statement", [])):
            if statement.get("Effect") != "Allow":
                continue
            for action in _listed(statement.get("Action", statement.get("NotAction", []))):
                for arn in _listed(statement.get("Resource", statement.get("NotResource", []))):
                    entry = {
                        "policy": logical,
                        "sid": str(statement.get("Sid", "")),
                        "action": str(action),
                        "resource": str(arn),
                    }
                    for role in roles:
                        out.setdefault(role, []).append(entry)
    return out


def unused(
    grants: Mapping[str, list[dict[str, str]]], usage: Mapping[str, set[tuple[str, str]]]
) -> dict[str, list[dict[str, str]]]:
    """role name -> the entries no allowed call of that role exercised (roles with none left
    are omitted)."""
    used_by_name = {arn.rsplit("/", 1)[-1]: pairs for arn, pairs in usage.items()}
    out = {}
    for role, entries in grants.items():
        pairs = used_by_name.get(role, set())
        left = [e for e in entries if (e["action"], e["resource"]) not in pairs]
        if left:
            out[role] = left
    return out
