"""The runtime's IAM: every request signed by a role is authorized as IAM would, before any
provider or moto sees it (`Front.authorize`).

A role's identity policies (inline and managed) are read from moto's IAM and kept until an IAM
or CloudFormation change is observed; the action and resource ARNs of a call come from the
Service Authorization Reference (`emulator.authorizer.reference`); statements are evaluated by
`emulator.authorizer.policy`. Resource policies apply as in one account
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an identity allow or a resource-policy allow suffices, and an explicit deny in either wins.
Bucket policies apply to every S3 request, the user's too. The user's own credentials (no role)
are the account's administrator and are not checked against identity policies.

Every allowed call records which statement patterns (action x resource) it exercised, so the
runtime can tell which grants of the template no call needed (`usage`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.authorizer import kms, policy, reference
from emulator.authorizer.errors import denial, message
from emulator.authorizer.policy import Statement
from emulator.authorizer.reference import Check

log = logging.getLogger(__name__)

# Changes after which a cached identity or resource policy may be stale.
_INVALIDATING = {
    "iam": (
        "PutRolePolicy",
        "DeleteRolePolicy",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "CreatePolicyVersion",
        "SetDefaultPolicyVersion",
        "DeleteRole",
    ),
    "cloudformation": ("CreateStack", "UpdateStack", "DeleteStack", "ExecuteChangeSet"),
    "sns": ("SetTopicAttributes", "CreateTopic", "DeleteTopic"),
    "sqs": ("SetQueueAttributes", "CreateQueue", "DeleteQueue"),
}
# Parameters that hand a role to the service called: iam:PassRole is checked on them
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html).
_PASSED_ROLES = ("RoleArn", "ExecutionRoleArn", "Role")
# Operations IAM never denies: "No permissions are required to perform this operation"
# (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
_UNCHECKED = {("sts", "GetCallerIdentity")}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    check: Check
    explicit: str | None = None  # "identity-based" | "resource-based" for an explicit deny
    policy_type: str = "identity-based"


class Authorizer:
    def __init__(
        self, cloud: Any, *, bucket_policies: Mapping[str, str], secure_transport: bool = True
    ) -> None:
        self.cloud = cloud
        self.bucket_policies = bucket_policies
        # The runtime's URL is plain http; it stands for AWS's https endpoints unless a test
        # says otherwise, so the stack's SSL-only statements deny nothing by default.
        self.secure_transport = secure_transport
        self._identity: dict[str, list[Statement]] = {}
        self._resource: dict[str, list[Statement]] = {}
        self.keys = kms.Keys(cloud)
        self._lock = threading.Lock()
        # role ARN -> {(action pattern, resource pattern)} of allowing statements
        self.usage: dict[str, set[tuple[str, str]]] = {}
        self.denials: list[dict[str, str]] = []

    def install(self, front: Any) -> None:
        front.authorize = self
        for service, operations in [*_INVALIDATING.items(), *kms.INVALIDATING.items()]:
            for operation in operations:
                front.observe(service, operation, self._changed)

    def _changed(self, _request: Any, _reply: Any) -> None:
        with self._lock:
            self._identity.clear()
            self._resource.clear()
        self.keys.clear()

    # -- the front's hook ------------------------------------------------------------------

    def __call__(self, request: Any) -> Any:
        if (request.service, request.operation) in _UNCHECKED:
            return None
        role = self.cloud.principal(request.access_key)
        if role is None and request.service != "s3":
            return None
        try:
            needed = reference.checks(
                request.signing_name,
                request.operation,
                request.params,
                account=self.cloud.account,
                region=request.region,
                body=request.body if request.operation == "DeleteObjects" else b"",
            )
        except reference.UnknownAction as exc:
            if role is None:
                return None
            log.warning("authorizer.unknown_action", extra={"error": str(exc)})
            needed = [
                Check(f"{reference.prefix_of(request.signing_name)}:{request.operation}", "*")
            ]
        context = self._context(request, role)
        caller = (
            self.cloud.caller_arn(request.access_key) or f"arn:aws:iam::{self.cloud.account}:root"
        )
        for check in [*needed, *self._passed_roles(request)]:
            ctx = context
            if check.action == "iam:PassRole":
                prefix = reference.prefix_of(request.signing_name)
                ctx = {**context, "iam:passedtoservice": f"{prefix}.amazonaws.com"}
            decision = self.evaluate(role, check, ctx)
            if decision.allowed and role is not None:
                decision = self._implied_kms(request, role, check, context) or decision
            if not decision.allowed:
                self.denials.append(
                    {"principal": caller, "action": check.action, "resource": check.resource}
                )
                log.info(
                    "authorizer.denied: %s may not %s on %s",
                    caller,
                    check.action,
                    check.resource,
                    extra={"principal": caller, "action": check.action, "resource": check.resource},
                )
                return denial(request, caller, decision)
        return None

    def _implied_kms(
        self, request: Any, role: str, check: Check, context: Mapping[str, Any]
    ) -> Decision | None:
        """The first refused KMS permission the service needs for this caller, or None."""
        for kms_check, kms_context in self.keys.implied(
            request.service, request.operation, check, request.region
        ):
            ctx = {**context, **kms_context}
            outcome = kms.decide(
                self.identity_policies(role),
                self.keys.key_policy(kms_check.resource),
                principal=role,
                check=kms_check,
                context=ctx,
            )
            if outcome.allowing:
                self._record(role, kms_check, outcome.allowing)
            if not outcome.allowed:
                return Decision(False, kms_check, outcome.explicit, outcome.policy_type)
        return None

    def _context(self, request: Any, role: str | None) -> dict[str, Any]:
        params = request.params
        context: dict[str, Any] = {
            "aws:securetransport": self.secure_transport,
            "aws:principalaccount": self.cloud.account,
            "aws:requestedregion": request.region,
        }
        if role is not None:
            context["aws:principalarn"] = role
        if request.service == "s3" and request.operation.startswith("List"):
            context["s3:prefix"] = params.get("Prefix")
        if request.service == "cloudwatch" and "Namespace" in params:
            context["cloudwatch:namespace"] = params["Namespace"]
        return context

    @staticmethod
    def _passed_roles(request: Any) -> list[Check]:
        return [
            Check("iam:PassRole", value)
            for name in _PASSED_ROLES
            if isinstance(value := request.params.get(name), str) and ":role/" in value
        ]

    # -- evaluation ------------------------------------------------------------------------

    def evaluate(self, role: str | None, check: Check, context: Mapping[str, Any]) -> Decision:
        """One check of `role` (None: the account's administrator, whom only a resource
        policy's explicit deny stops) in one account."""
        principal = role or f"arn:aws:iam::{self.cloud.account}:root"
        outcome = policy.decide(
            self.identity_policies(role) if role is not None else [],
            self.resource_policy(check.resource),
            principal=principal,
            action=check.action,
            arn=check.resource,
            context=context,
        )
        if role is None:
            return Decision(outcome.explicit is None, check, outcome.explicit, outcome.policy_type)
        if outcome.allowing:
            self._record(role, check, outcome.allowing)
        return Decision(outcome.allowed, check, outcome.explicit, outcome.policy_type)

    def evaluate_service(
        self,
        service: str,
        check: Check,
        document: str | Mapping[str, Any] | None,
        context: Mapping[str, Any],
    ) -> Decision:
        """A service principal (`cloudwatch.amazonaws.com`) acting on a resource: only the
        resource's policy can allow it."""
        statements = policy.parse(document, resource_policy=True) if document else []
        ctx = {"aws:securetransport": True, **context}
        outcome = policy.decide(
            [],
            statements,
            principal="",
            action=check.action,
            arn=check.resource,
            context=ctx,
            service=service,
        )
        if not outcome.allowed:
            return Decision(False, check, outcome.explicit, outcome.policy_type)
        # The service encrypts for itself on an encrypted topic or queue: the key policy must
        # allow the service principal.
        prefix, _, action = check.action.partition(":")
        for kms_check, kms_context in self.keys.implied(prefix, action, check, self.cloud.region):
            refused = kms.decide(
                [],
                self.keys.key_policy(kms_check.resource),
                principal="",
                check=kms_check,
                context={**ctx, **kms_context},
                service=service,
            )
            if not refused.allowed:
                return Decision(False, kms_check, refused.explicit, refused.policy_type)
        return Decision(True, check, policy_type="resource-based")

    def service_refusal(
        self, service: str, action: str, resource: str, *, source_arn: str
    ) -> str | None:
        """Why `resource`'s policy refuses `service` (a service principal acting for
        `source_arn` in this account), as the service would report it; None if allowed."""
        decision = self.evaluate_service(
            service,
            Check(action, resource),
            self.policy_document(resource),
            {"aws:sourcearn": source_arn, "aws:sourceaccount": self.cloud.account},
        )
        if decision.allowed:
            return None
        return message(service, decision, service=action.split(":", 1)[0])

    def _record(self, role: str, check: Check, allowing: tuple[Statement, ...]) -> None:
        pairs = {
            (a, r)
            for st in allowing
            for a in st.matched_actions(check.action)
            for r in st.matched_resources(check.resource)
        }
        with self._lock:
            self.usage.setdefault(role, set()).update(pairs)

    # -- policies --------------------------------------------------------------------------

    def identity_policies(self, role: str) -> list[Statement]:
        with self._lock:
            cached = self._identity.get(role)
        if cached is not None:
            return cached
        statements = self._read_identity(role)
        with self._lock:
            self._identity[role] = statements
        return statements

    def _read_identity(self, role: str) -> list[Statement]:
        iam = self.cloud.moto_client("iam")
        name = role.rsplit("/", 1)[-1]
        out: list[Statement] = []
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy_name in page["PolicyNames"]:
                doc = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
                out += policy.parse(doc)
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
            for attached in page["AttachedPolicies"]:
                try:
                    meta = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
                    version = iam.get_policy_version(
                        PolicyArn=attached["PolicyArn"], VersionId=meta["DefaultVersionId"]
                    )["PolicyVersion"]
                except iam.exceptions.NoSuchEntityException:
                    # AWS managed policies are not loaded into moto's IAM by default.
                    log.info(
                        "authorizer.managed_policy_unknown", extra={"policy": attached["PolicyArn"]}
                    )
                    continue
                out += policy.parse(version["Document"])
        return out

    def resource_policy(self, arn: str) -> list[Statement]:
        if arn.startswith("arn:aws:s3:::"):
            bucket = arn[len("arn:aws:s3:::") :].split("/", 1)[0]
            text = self.bucket_policies.get(bucket)
            return _parsed(text) if text else []
        if not (arn.startswith("arn:aws:sns:") or arn.startswith("arn:aws:sqs:")):
            return []
        with self._lock:
            cached = self._resource.get(arn)
        if cached is not None:
            return cached
        text = self.policy_document(arn)
        statements = _parsed(text) if text else []
        with self._lock:
            self._resource[arn] = statements
        return statements

    def policy_document(self, arn: str) -> str | None:
        """The resource policy of an SNS topic or SQS queue, as its service keeps it."""
        try:
            if arn.startswith("arn:aws:sns:"):
                sns = self.cloud.moto_client("sns")
                return sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("Policy")
            sqs = self.cloud.moto_client("sqs")
            url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
            return attrs.get("Attributes", {}).get("Policy")
        except Exception:  # noqa: BLE001 - a missing resource has no policy; the call will say so
            return None


_PARSED: dict[str, list[Statement]] = {}


def _parsed(text: str) -> list[Statement]:
    if text not in _PARSED:
        _PARSED[text] = policy.parse(text, resource_policy=True)
    return _PARSED[text]
