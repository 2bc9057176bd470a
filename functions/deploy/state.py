"""The endpoint's deployment state, one item in the state table (`pk=deploy, sk=<endpoint>`).

It holds what the registry decided and what was asked of SageMaker, so nothing a user decides is
lost while the endpoint is busy: a decision is written here first and applied whenever the
endpoint settles. Every write is conditional, because EventBridge delivers at least once and
Lambda may run two invocations at the same time
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html,
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html):

- a decision replaces the one in force only if it is newer (the package's LastModifiedTime);
- an outcome (live, rolled back, failed, deleted) is recorded once per attempt, and only the
  invocation whose write succeeded tells the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from functions.shared.clients import client
from functions.shared.settings import DeploySettings

REQUESTED = "requested"
SETTLED_OUTCOMES = frozenset({"live", "rolled_back", "failed", "deleted"})


@dataclass(frozen=True)
class Decision:
    """What should serve: a package (None: nothing may) and when that was decided."""

    decided_at: str  # ISO 8601 with microseconds: sorts as text
    package_arn: str | None
    version: int | None
    replaces_rejected: bool  # taking a rejected model out: no rollback alarms may stop it
    event_id: str


@dataclass(frozen=True)
class Attempt:
    """The last CreateEndpoint/UpdateEndpoint/DeleteEndpoint that SageMaker accepted."""

    config_name: str  # "" for a deletion
    outcome: str  # REQUESTED until the endpoint settles, then one of SETTLED
    decided_at: str  # the decision it served


@dataclass(frozen=True)
class DeployState:
    decision: Decision | None = None
    attempt: Attempt | None = None
    packages: dict[str, str] = field(default_factory=dict)  # config name -> package ARN


def _key(settings: DeploySettings) -> dict[str, Any]:
    return {"pk": {"S": "deploy"}, "sk": {"S": settings.endpoint_name}}


def _conditional(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


def read_state(settings: DeploySettings) -> DeployState:
    item = (
        client("dynamodb")
        .get_item(TableName=settings.state_table, Key=_key(settings), ConsistentRead=True)
        .get("Item")
        or {}
    )
    decision = None
    if "decided_at" in item:
        decision = Decision(
            decided_at=item["decided_at"]["S"],
            package_arn=item["target_package_arn"]["S"] or None,
            version=int(item["target_version"]["N"]) if "target_version" in item else None,
            replaces_rejected=item.get("replaces_rejected", {}).get("BOOL", False),
            event_id=item.get("decision_event_id", {}).get("S", ""),
        )
    attempt = None
    if "attempt_outcome" in item:
        attempt = Attempt(
            config_name=item["attempt_config"]["S"],
            outcome=item["attempt_outcome"]["S"],
            decided_at=item["attempt_decided_at"]["S"],
        )
    packages = {k: v["S"] for k, v in item.get("packages", {}).get("M", {}).items()}
    return DeployState(decision, attempt, packages)


def put_decision(settings: DeploySettings, decision: Decision) -> str:
    """Put `decision` in force unless an equal or newer one already is: "new" if it was,
    "same" if this very decision already is (a redelivery, or a retried invocation that must
    still apply it), "older" if a newer one is."""
    values: dict[str, Any] = {
        ":t": {"S": decision.decided_at},
        ":p": {"S": decision.package_arn or ""},
        ":r": {"BOOL": decision.replaces_rejected},
        ":e": {"S": decision.event_id},
    }
    assign = "decided_at = :t, target_package_arn = :p, replaces_rejected = :r, "
    assign += "decision_event_id = :e"
    remove = ""
    if decision.version is not None:
        values[":v"] = {"N": str(decision.version)}
        assign += ", target_version = :v"
    else:
        remove = " REMOVE target_version"
    try:
        client("dynamodb").update_item(
            TableName=settings.state_table,
            Key=_key(settings),
            UpdateExpression=f"SET {assign}{remove}",
            ConditionExpression="attribute_not_exists(decided_at) OR decided_at < :t",
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if not _conditional(exc):
            raise
        current = read_state(settings).decision
        return "same" if current and current.decided_at == decision.decided_at else "older"
    return "new"


def record_attempt(
    settings: DeploySettings, config_name: str, package_arn: str | None, decided_at: str
) -> None:
    """Record an attempt SageMaker accepted (called only after its call succeeded)."""
    dynamodb = client("dynamodb")
    if package_arn and config_name:
        # One map entry per config, so the live record can always name what a config serves.
        # DynamoDB cannot create a map and a path inside it in one expression: two writes,
        # each idempotent.
        dynamodb.update_item(
            TableName=settings.state_table,
            Key=_key(settings),
            UpdateExpression="SET packages = if_not_exists(packages, :empty)",
            ExpressionAttributeValues={":empty": {"M": {}}},
        )
        dynamodb.update_item(
            TableName=settings.state_table,
            Key=_key(settings),
            UpdateExpression="SET packages.#cfg = :p",
            ExpressionAttributeNames={"#cfg": config_name},
            ExpressionAttributeValues={":p": {"S": package_arn}},
        )
    dynamodb.update_item(
        TableName=settings.state_table,
        Key=_key(settings),
        UpdateExpression="SET attempt_config = :c, attempt_outcome = :o, attempt_decided_at = :t",
        ExpressionAttributeValues={
            ":c": {"S": config_name},
            ":o": {"S": REQUESTED},
            ":t": {"S": decided_at},
        },
    )


def settle_attempt(settings: DeploySettings, attempt: Attempt, outcome: str) -> bool:
    """Mark `attempt` settled with `outcome`; True for the one invocation that did it."""
    try:
        client("dynamodb").update_item(
            TableName=settings.state_table,
            Key=_key(settings),
            UpdateExpression="SET attempt_outcome = :o",
            ConditionExpression="attempt_outcome = :requested AND attempt_config = :c "
            "AND attempt_decided_at = :t",
            ExpressionAttributeValues={
                ":o": {"S": outcome},
                ":requested": {"S": REQUESTED},
                ":c": {"S": attempt.config_name},
                ":t": {"S": attempt.decided_at},
            },
        )
    except ClientError as exc:
        if _conditional(exc):
            return False
        raise
    return True
