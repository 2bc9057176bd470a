"""cdk-nag acknowledgments that name the exact finding, with the reason beside the resource.

cdk-nag 3 matches an acknowledgment against the finding id itself (`AwsSolutions-IAM5[Resource::
<Bucket.Arn>/incoming/*]`), so a blanket "IAM5" would silently cover wildcards added later. The
helpers here render a resource the way cdk-nag prints it, so each acknowledgment lists exactly
the wildcards it was written for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

# Action wildcards that CDK's own grant helpers (grant_read, grant_put, grant_encrypt_decrypt...)
# write; they are scoped by the resources of the same statement.
GRANT_HELPER_ACTIONS = (
    "s3:GetObject*",
    "s3:GetBucket*",
    "s3:List*",
    "s3:DeleteObject*",
    "s3:Abort*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
)


def acknowledge(
    construct: IConstruct, rule: str, reason: str, findings: Iterable[str] = ()
) -> None:
    """Acknowledge `rule` on `construct` and its children, for each finding or the whole rule."""
    ids = [f"{rule}[{finding}]" for finding in findings] or [rule]
    Validations.of(construct).acknowledge(*(Acknowledgment(id=i, reason=reason) for i in ids))


def actions(*names: str) -> list[str]:
    return [f"Action::{name}" for name in names]


def resources(stack: Stack, *arns: str) -> list[str]:
    return [f"Resource::{_render(stack.resolve(arn))}" for arn in arns]


def _render(value: Any) -> str:
    """CloudFormation intrinsics as cdk-nag prints them: `<Logical.Attr>`, `<AWS::Region>`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((name, argument),) = value.items()
        if name == "Ref":
            return f"<{argument}>"
        if name == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if name == "Fn::Sub" and isinstance(argument, str):
            return re.sub(r"\$\{([^}]+)\}", r"<\1>", argument)
        if name == "Fn::Join":
            separator, parts = argument
            return separator.join(_render(part) for part in parts)
    raise ValueError(f"cannot render {value!r} as a cdk-nag finding")
