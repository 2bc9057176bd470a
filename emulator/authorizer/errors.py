"""A denied call as the service answers it: each service's error code and HTTP status, and
IAM's message naming the caller, the action, the resource and why
(https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html;
S3 quotes the resource: https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html).
"""

from __future__ import annotations

from typing import Any

from emulator.front import ServiceError

# (error code, HTTP status) per service; JSON services answer AccessDeniedException with 400.
_CODES = {
    "s3": ("AccessDenied", 403),
    "sns": ("AuthorizationError", 403),
    "sqs": ("AccessDenied", 403),
    "sts": ("AccessDenied", 403),
    "iam": ("AccessDenied", 403),
    "cloudwatch": ("AccessDenied", 403),
    "lambda": ("AccessDeniedException", 403),
}


def message(caller: str, decision: Any, *, service: str) -> str:
    action, resource = decision.check.action, decision.check.resource
    if service == "sns":  # SNS spells its actions with the upper-case prefix
        action = "SNS:" + action.split(":", 1)[1]
    shown = f'"{resource}"' if service == "s3" else resource
    head = f"User: {caller} is not authorized to perform: {action} on resource: {shown}"
    if decision.explicit:
        return f"{head} with an explicit deny in a {decision.explicit} policy"
    return f"{head} because no {decision.policy_type} policy allows the {action} action"


def denial(request: Any, caller: str, decision: Any) -> ServiceError:
    code, status = _CODES.get(request.service, ("AccessDeniedException", 400))
    return ServiceError(code, message(caller, decision, service=request.service), status)
