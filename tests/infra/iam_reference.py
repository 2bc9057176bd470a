"""Checks a policy statement against the Service Authorization Reference.

The data is cfn-lint's copy of AWS's machine-readable reference
(https://servicereference.us-east-1.amazonaws.com, refreshed with every cfn-lint release):
per action its resource types, per resource type its ARN format. Where that copy loses a detail
(its ARN formats stop at the first variable, so an S3 bucket and an object look alike) or AWS
documents an exception to it, the rule here says so and names the page.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from cfnlint.data import AdditionalSpecs
from cfnlint.helpers import load_resource

# SageMaker: "Except for the ListTags API, resource-level restrictions are not available on
# List- calls" (https://docs.aws.amazon.com/sagemaker/latest/dg/api-permissions-reference.html):
# a List call over the items themselves (ListModelPackages, whose one resource type is the
# model-package it lists, optional in the reference) is authorized against "*". List calls
# within a parent resource (ListPipelineExecutionSteps of a pipeline-execution, required in
# the reference) are authorized on that parent.
# S3 ARNs: a bucket is arn:aws:s3:::bucket, an object arn:aws:s3:::bucket/key
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-arn-format.html).
_S3_SHAPES = {
    "bucket": re.compile(r"^arn:[^:]+:s3:::[^/]+$"),
    "object": re.compile(r"^arn:[^:]+:s3:::[^/]+/.+$"),
}
# "*" where the reference names a resource type, with the reason it is right.
STAR_WITH_REASON = {
    "cloudwatch:PutMetricData": "metric data has no ARN of its own (the reference's 'dataset' "
    "type is CloudWatch's newer data sets); bound to namespaces by cloudwatch:namespace",
}


@functools.cache
def reference() -> dict[str, Any]:
    return load_resource(AdditionalSpecs, "Policies.json")


def expand(action: str) -> list[str]:
    """`s3:GetObject*` -> every matching action of the reference, as `service:Name` (lower)."""
    service, name = action.split(":", 1)
    known = reference().get(service.lower(), {}).get("Actions", {})
    pattern = re.compile(re.escape(name.lower()).replace(r"\*", ".*") + "$")
    return [f"{service.lower()}:{a}" for a in known if pattern.match(a)]


def resource_types(action: str) -> list[str]:
    service, name = action.split(":", 1)
    return reference()[service]["Actions"][name].get("Resources", [])


def requires_star(action: str) -> bool:
    service, name = action.split(":", 1)
    types = resource_types(action)
    if service == "sagemaker" and name.startswith("list") and name != "listtags":
        listed = name.removeprefix("list")
        if not types or any(f"{t.replace('-', '')}s" == listed for t in types):
            return True
    return not types


def supports(action: str, arn: str) -> bool:
    """Whether `arn` (resolved; `*` inside is a wildcard) is of one of the action's types."""
    service, _ = action.split(":", 1)
    types = reference()[service]["Resources"]
    for type_name in resource_types(action):
        shape = next((s for k, s in _S3_SHAPES.items() if type_name.endswith(k)), None)
        if service == "s3" and shape is not None and not shape.match(arn):
            continue
        for fmt in types.get(type_name, {}).get("ARNFormats", []):
            if _format_regex(fmt).match(arn):
                return True
    return False


@functools.cache
def _format_regex(fmt: str) -> re.Pattern[str]:
    parts = re.split(r"(\$\{Partition\}|\$\{Region\}|\$\{Account\}|\.\*)", fmt)
    out = []
    for part in parts:
        if part == "${Partition}":
            out.append(r"[^:]+")
        elif part in ("${Region}", "${Account}"):
            out.append(r"[^:]*")
        elif part == ".*":
            out.append(".*")
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$")


def problems(actions: Iterable[str], resources: Iterable[str]) -> list[str]:
    """Why a statement's actions and resources do not fit, or [] when they do: every action is
    known and usable on one of the resources (or on "*" only, where it must be); every resource
    serves one of the actions."""
    resources = list(resources)
    arns = [r for r in resources if r != "*"]
    found: list[str] = []
    expanded: list[tuple[str, str]] = []
    for action in actions:
        names = expand(action)
        if not names:
            found.append(f"{action}: not an action of the Service Authorization Reference")
        expanded += [(action, n) for n in names]
    for action, name in expanded:
        if requires_star(name):
            if "*" not in resources:
                found.append(f"{action}: authorized against '*' only, not {arns}")
        elif "*" in resources and not arns and action not in STAR_WITH_REASON:
            found.append(f"{action}: supports {resource_types(name)}, given '*'")
        elif arns and not any(supports(name, arn) for arn in arns):
            found.append(f"{action}: supports {resource_types(name)}, none of {arns}")
    for arn in arns:
        if not any(not requires_star(n) and supports(n, arn) for _, n in expanded):
            found.append(f"{arn}: no action of the statement applies to it")
    return found
