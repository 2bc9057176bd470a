"""Starting the training pipeline under the in-flight guard, with coalescing of arrivals.

State table layout (docs/contracts.md): the guard is `pk=guard, sk=training`; arrivals waiting
for the next run are `pk=pending#training, sk=<event time>#<key>#<version>`.

Protocol, and why it cannot lose an arrival:

1. An arrival first writes its pending item, then tries to take the guard (conditional put).
2. Whoever holds the guard drains: it reads every pending item (consistent read), starts one run
   whose manifest lists them, then deletes exactly the items it read.
3. On a terminal status of the guarded run, pipeline_events deletes the guard (conditional on the
   execution ARN) and then tries to take it and drain, like an arrival.

If an arrival fails to take the guard in step 1, the guard existed after its pending write, so
the release in step 3 happens later, and the drain that follows the release reads that item.
In a burst each arrival costs two writes: the pending item, and the failed conditional put that
returns the current guard (ReturnValuesOnConditionCheckFailure) so no extra read is needed.
A drain that reads the items before a late write leaves the late item in place; its writer saw
the guard held (taken before the read), so the next release picks it up. Nothing is lost, and
only the guard holder starts a run, so bursts collapse into one follow-up run.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from functions.shared.clients import client
from functions.shared.observability import logger
from functions.shared.settings import _TrainingSettings

GUARD_KEY = {"pk": {"S": "guard"}, "sk": {"S": "training"}}
PENDING_PK = "pending#training"
RUNNING_STATUSES = frozenset({"Executing", "Stopping"})
TERMINAL_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})
# A guard without an execution ARN belongs to a starter that may have crashed between taking the
# guard and StartPipelineExecution; after this long it no longer blocks.
STARTING_GRACE_SECONDS = 900
# DescribePipelineExecution is rate limited: once it confirms the guarded run is running, the
# guard records it (checked_epoch) and arrivals in the next minute trust the guard without asking.
CHECK_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class Trigger:
    event_id: str
    event_type: str  # s3:ObjectCreated | drift:alarm | schedule | manual | coalesced


@dataclass(frozen=True)
class Guard:
    token: str
    execution_arn: str
    started_at: float
    checked_at: float


def make_token(kind: str, *parts: str) -> str:
    """A ClientRequestToken (32-128 chars of [A-Za-z0-9-]) derived only from the trigger.

    The same trigger always yields the same token, so a retried invocation reuses the manifest
    path and SageMaker returns the execution it already started instead of a second one.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:48]
    return f"{kind}-{digest}"


def now_iso(now: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pending_item(entry: dict[str, Any]) -> dict[str, Any]:
    sort_key = f"{entry['event_time']}#{entry['key']}#{entry['version_id']}"
    if len(sort_key.encode()) > 1024:  # DynamoDB's sort key limit; S3 keys go up to 1024 bytes
        digest = hashlib.sha256(sort_key.encode()).hexdigest()
        sort_key = f"{entry['event_time']}#{digest}"
    return {"pk": {"S": PENDING_PK}, "sk": {"S": sort_key}, "object": {"S": json.dumps(entry)}}


def add_pending(settings: _TrainingSettings, entry: dict[str, Any]) -> None:
    """Record an accepted arrival for the next run (idempotent: same version, same item)."""
    client("dynamodb").put_item(TableName=settings.state_table, Item=_pending_item(entry))


def _guard_from_item(item: dict[str, Any]) -> Guard:
    return Guard(
        token=item.get("token", {}).get("S", ""),
        execution_arn=item.get("execution_arn", {}).get("S", ""),
        started_at=float(item.get("started_epoch", {}).get("N", "0")),
        checked_at=float(item.get("checked_epoch", {}).get("N", "0")),
    )


def read_guard(settings: _TrainingSettings) -> Guard | None:
    item = (
        client("dynamodb")
        .get_item(TableName=settings.state_table, Key=GUARD_KEY, ConsistentRead=True)
        .get("Item")
    )
    return _guard_from_item(item) if item else None


def _put_guard(
    settings: _TrainingSettings, token: str, stale_token: str | None = None
) -> tuple[bool, Guard | None]:
    """Conditional put: the guard must be absent, or still hold `stale_token` (a takeover).

    Returns (taken, the guard that blocked us, when the condition failed and one exists).
    """
    now = time.time()
    kwargs: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
    if stale_token is not None:
        kwargs = {
            "ConditionExpression": "#t = :t",
            "ExpressionAttributeNames": {"#t": "token"},
            "ExpressionAttributeValues": {":t": {"S": stale_token}},
        }
    try:
        client("dynamodb").put_item(
            TableName=settings.state_table,
            Item={
                **GUARD_KEY,
                "token": {"S": token},
                "execution_arn": {"S": ""},
                "started_at": {"S": now_iso(now)},
                "started_epoch": {"N": str(int(now))},
                "checked_epoch": {"N": str(int(now))},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **kwargs,
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            item = exc.response.get("Item")
            return False, _guard_from_item(item) if item else None
        raise
    return True, None


def guard_is_stale(settings: _TrainingSettings, guard: Guard) -> str | None:
    """Why the guard no longer protects a running execution, or None while it does."""
    now = time.time()
    age = now - guard.started_at
    if age > settings.guard_max_age_seconds:
        return "max_age_exceeded"
    if not guard.execution_arn:
        return "never_started" if age > STARTING_GRACE_SECONDS else None
    if now - guard.checked_at < CHECK_INTERVAL_SECONDS:
        return None
    try:
        status = client("sagemaker").describe_pipeline_execution(
            PipelineExecutionArn=guard.execution_arn
        )["PipelineExecutionStatus"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("ResourceNotFound", "ValidationException"):
            return "execution_not_found"
        raise
    if status in RUNNING_STATUSES:
        _mark_checked(settings, guard)
        return None
    return f"execution_{status.lower()}"


def _mark_checked(settings: _TrainingSettings, guard: Guard) -> None:
    try:
        client("dynamodb").update_item(
            TableName=settings.state_table,
            Key=GUARD_KEY,
            UpdateExpression="SET checked_epoch = :now",
            ConditionExpression="#t = :t",
            ExpressionAttributeNames={"#t": "token"},
            ExpressionAttributeValues={
                ":now": {"N": str(int(time.time()))},
                ":t": {"S": guard.token},
            },
        )
    except ClientError as exc:  # the guard changed hands meanwhile: nothing to record
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def acquire_guard(settings: _TrainingSettings, token: str) -> bool:
    """Take the guard for `token`; True if we hold it now (also when we already held it)."""
    taken, guard = _put_guard(settings, token)
    if taken:
        return True
    if guard is None:  # the failed put returned no item: released meanwhile, or read it
        guard = read_guard(settings)
        if guard is None:
            return _put_guard(settings, token)[0]
    if guard.token == token and not guard.execution_arn:
        # A retry of the invocation that took the guard and failed before its run started.
        # Once the run has started the guard is that run's, and a retry must not drain again.
        return True
    stale = guard_is_stale(settings, guard)
    if stale is None:
        return False
    logger.warning(
        "stale training guard taken over",
        extra={"reason": stale, "stale_token": guard.token, "execution_arn": guard.execution_arn},
    )
    # Conditional on the stale token so that of two concurrent takers only one wins.
    return _put_guard(settings, token, stale_token=guard.token)[0]


def release_guard(settings: _TrainingSettings, *, execution_arn: str = "", token: str = "") -> bool:
    """Delete the guard if it still belongs to this execution (or token); True if deleted."""
    attribute, value = ("execution_arn", execution_arn) if execution_arn else ("token", token)
    try:
        client("dynamodb").delete_item(
            TableName=settings.state_table,
            Key=GUARD_KEY,
            ConditionExpression="#a = :v",
            ExpressionAttributeNames={"#a": attribute},
            ExpressionAttributeValues={":v": {"S": value}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True
