"""A part of the loop as a construct that leaves its resources' logical IDs as they were.

CloudFormation replaces a resource whose logical ID changes: the state table would lose its
items and a retained bucket's new copy would collide with the old one's name. So grouping
resources into a component must not change their IDs: `KeepLogicalIds` gives each resource the
ID CDK would allocate if no component stood in its path (CDK's `makeUniqueId`, in
aws-cdk-lib/core/lib/private/uniqueid.ts).
"""

from __future__ import annotations

import hashlib
import re

import jsii
from aws_cdk import Aspects, CfnElement, IAspect, Stack
from constructs import Construct, IConstruct

_HIDDEN_ID = "Default"
_HIDDEN_FROM_HUMAN_ID = "Resource"
_MAX_HUMAN_LEN = 240
_MAX_ID_LEN = 255


class Component(Construct):
    """A part of the loop; its id is left out of the logical IDs of what it creates."""


def unique_id(components: list[str]) -> str:
    """CDK's logical ID for a construct path (the ids below the stack)."""
    components = [c for c in components if c != _HIDDEN_ID]
    if len(components) == 1:
        candidate = _alphanumeric(components[0])
        if len(candidate) <= _MAX_ID_LEN:
            return candidate
    digest = hashlib.md5("/".join(components).encode(), usedforsecurity=False).hexdigest()
    human: list[str] = []
    for component in components:
        if not human or not human[-1].endswith(component):
            human.append(component)
    readable = "".join(_alphanumeric(c) for c in human if c != _HIDDEN_FROM_HUMAN_ID)
    return readable[:_MAX_HUMAN_LEN] + digest[:8].upper()


def _alphanumeric(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text)


@jsii.implements(IAspect)
class KeepLogicalIds:
    """Applied to a stack: every resource inside a component gets the ID it had outside one;
    two resources that would share an ID fail synth naming both."""

    def __init__(self) -> None:
        self._owners: dict[str, str] = {}

    @classmethod
    def apply_to(cls, stack: Stack) -> None:
        Aspects.of(stack).add(cls())

    def visit(self, node: IConstruct) -> None:
        if not CfnElement.is_cfn_element(node):
            return
        scopes = node.node.scopes
        below = scopes[scopes.index(Stack.of(node)) + 1 :]
        if not any(isinstance(scope, Component) for scope in below):
            return
        logical_id = unique_id([s.node.id for s in below if not isinstance(s, Component)])
        owner = self._owners.setdefault(logical_id, node.node.path)
        if owner != node.node.path:
            raise ValueError(f"{node.node.path} and {owner} would share logical ID {logical_id}")
        node.override_logical_id(logical_id)
