"""The KMS permissions a service checks on the caller's behalf when it encrypts for them.

- S3 with SSE-KMS: writing an object needs kms:GenerateDataKey, reading it kms:Decrypt, on the
  bucket's key (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html).
- SNS with SSE: a publisher needs kms:GenerateDataKey* and kms:Decrypt on the topic's key, a
  service principal through the key policy
  (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
- SQS with SSE: a producer needs kms:GenerateDataKey and kms:Decrypt, a consumer kms:Decrypt
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).

Each check carries `kms:ViaService`, `kms:CallerAccount` and the service's encryption context
(https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html). The key policy
decides first: it allows a principal itself, or delegates to IAM through the account's root
(https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
"""

from __future__ import annotations

import threading
from typing import Any

from emulator.authorizer import policy
from emulator.authorizer.policy import Outcome, Statement
from emulator.authorizer.reference import Check

# (operation, the check it applies to) -> KMS actions the service calls for the caller
_IMPLIED = {
    ("s3", "PutObject", "s3:PutObject"): ("kms:GenerateDataKey",),
    ("s3", "CreateMultipartUpload", "s3:PutObject"): ("kms:GenerateDataKey",),
    ("s3", "CopyObject", "s3:PutObject"): ("kms:GenerateDataKey",),
    ("s3", "GetObject", "s3:GetObject"): ("kms:Decrypt",),
    ("s3", "GetObject", "s3:GetObjectVersion"): ("kms:Decrypt",),
    ("s3", "CopyObject", "s3:GetObject"): ("kms:Decrypt",),
    ("s3", "CopyObject", "s3:GetObjectVersion"): ("kms:Decrypt",),
    ("sns", "Publish", "sns:Publish"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "SendMessage", "sqs:SendMessage"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "SendMessageBatch", "sqs:SendMessage"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "ReceiveMessage", "sqs:ReceiveMessage"): ("kms:Decrypt",),
}
INVALIDATING = {"s3": ("PutBucketEncryption", "DeleteBucketEncryption"), "kms": ("PutKeyPolicy",)}


class Keys:
    """Which key encrypts a bucket, topic or queue, and that key's policy, read from the
    services and kept until a change is observed."""

    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud
        self._keys: dict[str, str | None] = {}
        self._policies: dict[str, list[Statement]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()
            self._policies.clear()

    def implied(
        self, service: str, operation: str, check: Check, region: str
    ) -> list[tuple[Check, dict[str, Any]]]:
        actions = _IMPLIED.get((service, operation, check.action))
        if not actions:
            return []
        owner = check.resource
        if service == "s3":
            owner = "arn:aws:s3:::" + check.resource[len("arn:aws:s3:::") :].split("/", 1)[0]
        key = self.key_of(owner)
        if key is None:
            return []
        return [(Check(a, key), self.context(service, owner, region)) for a in actions]

    def context(self, service: str, owner: str, region: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kms:viaservice": f"{service}.{region}.amazonaws.com",
            "kms:calleraccount": self.cloud.account,
        }
        # Bucket keys make the bucket the encryption context; SNS and SQS name the resource.
        name = {"s3": "aws:s3:arn", "sns": "aws:sns:topicarn", "sqs": "aws:sqs:arn"}[service]
        out[f"kms:encryptioncontext:{name}"] = owner
        out["kms:encryptioncontextkeys"] = [name]
        return out

    def key_of(self, arn: str) -> str | None:
        with self._lock:
            if arn in self._keys:
                return self._keys[arn]
        key = self._read_key(arn)
        with self._lock:
            self._keys[arn] = key
        return key

    def _read_key(self, arn: str) -> str | None:
        try:
            if arn.startswith("arn:aws:s3:::"):
                rules = self.cloud.moto_client("s3").get_bucket_encryption(Bucket=arn[13:])[
                    "ServerSideEncryptionConfiguration"
                ]["Rules"]
                default = rules[0].get("ApplyServerSideEncryptionByDefault", {})
                key_id = (
                    default.get("KMSMasterKeyID")
                    if default.get("SSEAlgorithm") == "aws:kms"
                    else None
                )
            elif arn.startswith("arn:aws:sns:"):
                attrs = self.cloud.moto_client("sns").get_topic_attributes(TopicArn=arn)[
                    "Attributes"
                ]
                key_id = attrs.get("KmsMasterKeyId")
            elif arn.startswith("arn:aws:sqs:"):
                sqs = self.cloud.moto_client("sqs")
                url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
                attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["KmsMasterKeyId"])
                key_id = attrs.get("Attributes", {}).get("KmsMasterKeyId")
            else:
                return None
        except Exception:  # noqa: BLE001 - no encryption configured, or no such resource
            return None
        if not key_id:
            return None
        meta = self.cloud.moto_client("kms").describe_key(KeyId=key_id)["KeyMetadata"]
        return str(meta["Arn"])

    def key_policy(self, key_arn: str) -> list[Statement]:
        with self._lock:
            if key_arn in self._policies:
                return self._policies[key_arn]
        text = self.cloud.moto_client("kms").get_key_policy(KeyId=key_arn, PolicyName="default")
        statements = policy.parse(text["Policy"], resource_policy=True)
        with self._lock:
            self._policies[key_arn] = statements
        return statements


def decide(
    identity: list[Statement],
    key_policy: list[Statement],
    *,
    principal: str,
    check: Check,
    context: dict[str, Any],
    service: str | None = None,
) -> Outcome:
    """KMS's rule: the key policy must allow the principal itself, or allow the account's root
    (then IAM policies decide); an explicit Deny in either wins."""
    account = principal.split(":")[4] if service is None else ""
    root = f"arn:aws:iam::{account}:root"
    applying = [st for st in key_policy if st.applies(check.action, check.resource, context)]
    named = [st for st in applying if st.names(principal, service)]
    if any(st.effect == "Deny" for st in named):
        return Outcome(False, explicit="resource-based", policy_type="resource-based")
    direct = any(
        st.effect == "Allow"
        and st.principals is not None
        and any(
            v in (principal, "*") or (kind == "Service" and v == service)
            for kind, v in st.principals
        )
        for st in named
    )
    delegated = service is None and any(
        st.effect == "Allow" and st.names(root, None) for st in applying
    )
    if direct:
        return Outcome(True, policy_type="resource-based")
    if delegated:
        return policy.decide(
            identity,
            [],
            principal=principal,
            action=check.action,
            arn=check.resource,
            context=context,
        )
    return Outcome(False, policy_type="resource-based")
