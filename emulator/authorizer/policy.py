"""IAM policy evaluation: one request (principal, action, resource, context) against statements.

The rules are IAM's own, as the IAM User Guide states them:
- Action, NotAction, Resource, NotResource and the `*`/`?` wildcards
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html);
  action names are case-insensitive, resources are not.
- Condition operators, `...IfExists`, `ForAnyValue:`/`ForAllValues:` and what a key missing from
  the request context means
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html):
  all operators of one block, and all keys of one operator, must hold; any value of a key may
  match; a missing key fails every operator except the negated ones, `Null` and `...IfExists`.
- An explicit Deny in any policy wins over every Allow
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Context = Mapping[str, Any]  # condition key (lower-case) -> value or list of values


class PolicyError(ValueError):
    """A policy document the evaluator cannot read."""


@dataclass(frozen=True)
class Statement:
    effect: str  # "Allow" | "Deny"
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]  # (operator, key, values)
    principals: tuple[tuple[str, str], ...] | None  # (kind, value); None in identity policies
    not_principal: bool = False
    sid: str = ""

    def matched_actions(self, action: str) -> tuple[str, ...]:
        """The Action patterns that cover `action` (("*NotAction*",) for a NotAction match)."""
        if self.not_actions:
            return () if any(_matches(p, action, True) for p in self.not_actions) else ("*",)
        return tuple(p for p in self.actions if _matches(p, action, True))

    def matched_resources(self, resource: str) -> tuple[str, ...]:
        if self.not_resources:
            return () if any(_matches(p, resource) for p in self.not_resources) else ("*",)
        return tuple(p for p in self.resources if _matches(p, resource))

    def names(self, principal: str, service: str | None) -> bool:
        """Whether a resource policy statement applies to the caller."""
        if self.principals is None:
            return True
        found = any(
            value == "*"
            or (kind == "Service" and service is not None and value == service)
            or (kind == "AWS" and service is None and _aws_principal(value, principal))
            for kind, value in self.principals
        )
        return found != self.not_principal

    def applies(self, action: str, resource: str, context: Context) -> bool:
        return (
            bool(self.matched_actions(action))
            and bool(self.matched_resources(resource))
            and conditions_hold(self.conditions, context)
        )


def _aws_principal(value: str, principal: str) -> bool:
    if value == principal:
        return True
    # "arn:aws:iam::ACCOUNT:root" (or the bare account id) names every principal of the account.
    account = principal.split(":")[4] if principal.count(":") >= 5 else ""
    return value in (account, f"arn:aws:iam::{account}:root")


def _listed(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | bool | int | float):
        value = [value]
    return tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in value)


def parse(document: Mapping[str, Any] | str, *, resource_policy: bool = False) -> list[Statement]:
    """The statements of a policy document (a dict, or its JSON text)."""
    import json

    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise PolicyError(f"policy is not JSON: {exc}: {document[:200]!r}") from exc
    raw = document.get("Statement", [])
    statements = [raw] if isinstance(raw, Mapping) else list(raw)
    out = []
    for i, st in enumerate(statements):
        effect = st.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"statement {i}: Effect must be Allow or Deny, got {effect!r}")
        conditions = []
        for operator, block in (st.get("Condition") or {}).items():
            for key, values in block.items():
                conditions.append((operator, key.lower(), _listed(values)))
        principals = None
        principal_field = st.get("Principal", st.get("NotPrincipal"))
        if resource_policy or principal_field is not None:
            if principal_field == "*":
                principals = (("AWS", "*"),)
            else:
                principals = tuple(
                    (kind, v)
                    for kind, values in (principal_field or {}).items()
                    for v in _listed(values)
                )
        out.append(
            Statement(
                effect=effect,
                actions=_listed(st.get("Action")),
                not_actions=_listed(st.get("NotAction")),
                resources=_listed(st.get("Resource")) or (("*",) if resource_policy else ()),
                not_resources=_listed(st.get("NotResource")),
                conditions=tuple(conditions),
                principals=principals,
                not_principal="NotPrincipal" in st,
                sid=str(st.get("Sid", "")),
            )
        )
    return out


@functools.lru_cache(maxsize=4096)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _matches(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _pattern(pattern, ignore_case).match(value) is not None


def _string_test(name: str) -> Any:
    tests = {
        "StringEquals": lambda v, p: v == p,
        "StringEqualsIgnoreCase": lambda v, p: v.lower() == p.lower(),
        "StringLike": lambda v, p: _matches(p, v),
        "ArnEquals": lambda v, p: _arn_like(v, p),
        "ArnLike": lambda v, p: _arn_like(v, p),
        "Bool": lambda v, p: v.lower() == p.lower(),
        "NumericEquals": lambda v, p: float(v) == float(p),
        "NumericLessThan": lambda v, p: float(v) < float(p),
        "NumericLessThanEquals": lambda v, p: float(v) <= float(p),
        "NumericGreaterThan": lambda v, p: float(v) > float(p),
        "NumericGreaterThanEquals": lambda v, p: float(v) >= float(p),
    }
    return tests.get(name)


def _arn_like(value: str, pattern: str) -> bool:
    """ARN operators compare the six colon-separated parts, each with wildcards."""
    v, p = value.split(":", 5), pattern.split(":", 5)
    return len(v) == len(p) == 6 and all(_matches(pp, vv) for vv, pp in zip(v, p, strict=True))


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def condition_holds(operator: str, key: str, values: tuple[str, ...], context: Context) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    present = key in context and context[key] is not None
    if name == "Null":
        return (not present) == (values[0].lower() == "true")
    if not present:
        # ForAllValues over an empty set holds; a missing key fails every other test,
        # except a negated operator and ...IfExists (the IAM User Guide's rules).
        return if_exists or name in _NEGATED or qualifier == "ForAllValues"
    raw = context[key]
    given = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(raw)]
    negated = name in _NEGATED
    test = _string_test(_NEGATED.get(name, name))
    if test is None:
        raise PolicyError(f"condition operator {operator} is not supported by the local runtime")

    def one(value: str) -> bool:
        try:
            return any(test(value, p) for p in values)
        except ValueError:
            return False

    if qualifier == "ForAllValues":
        hit = all(one(v) for v in given)
        return not hit if negated else hit
    hit = any(one(v) for v in given)
    return not hit if negated else hit


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple | set | frozenset) else [value]


def conditions_hold(
    conditions: Iterable[tuple[str, str, tuple[str, ...]]], context: Context
) -> bool:
    return all(condition_holds(op, key, values, context) for op, key, values in conditions)


@dataclass(frozen=True)
class Outcome:
    allowed: bool
    explicit: str | None = None  # the policy type of an explicit deny
    policy_type: str = "identity-based"  # which kind of policy allowed, or was missing
    allowing: tuple[Statement, ...] = ()  # the identity statements that allowed


def decide(
    identity: Iterable[Statement],
    resource: Iterable[Statement],
    *,
    principal: str,
    action: str,
    arn: str,
    context: Context,
    service: str | None = None,
) -> Outcome:
    """IAM's decision in one account: an explicit Deny anywhere wins; then an identity Allow or
    a resource-policy Allow naming the principal suffices; else the implicit deny.
    `service` names a service principal, which only resource policies can allow."""
    identity, resource = list(identity), list(resource)
    if any(st.effect == "Deny" and st.applies(action, arn, context) for st in identity):
        return Outcome(False, explicit="identity-based")
    named = [st for st in resource if st.names(principal, service)]
    if any(st.effect == "Deny" and st.applies(action, arn, context) for st in named):
        return Outcome(False, explicit="resource-based", policy_type="resource-based")
    allowing = tuple(
        st for st in identity if st.effect == "Allow" and st.applies(action, arn, context)
    )
    if allowing:
        return Outcome(True, allowing=allowing)
    if any(st.effect == "Allow" and st.applies(action, arn, context) for st in named):
        return Outcome(True, policy_type="resource-based")
    return Outcome(False, policy_type="resource-based" if service else "identity-based")
