"""Decide whether a drift alarm or a schedule tick starts a retrain, and start it."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from functions.drift_retrain.traffic import labelled_traffic
from functions.shared.clients import client
from functions.shared.events import AlarmEvent
from functions.shared.observability import count, logger
from functions.shared.outcomes import ignored
from functions.shared.runs import drain_and_start
from functions.shared.settings import DriftRetrainSettings
from functions.shared.training import Trigger, acquire_guard, make_token, now_iso, release_guard

COOLDOWN_KEY = {"pk": {"S": "guard"}, "sk": {"S": "retrain-cooldown"}}
_COUNTER_TTL_SECONDS = 3 * 86_400


def on_alarm(event: AlarmEvent, settings: DriftRetrainSettings) -> dict[str, Any]:
    name = event.detail.alarm_name
    if name not in settings.drift_alarm_names:
        return ignored("not_drift_alarm", alarm_name=name)
    if event.detail.state.value != "ALARM":
        return ignored("not_in_alarm", alarm_name=name, state=event.detail.state.value)
    return retrain(Trigger(event_id=event.id, event_type="drift:alarm"), settings, cause=name)


def skipped(reason: str, **context: Any) -> dict[str, Any]:
    logger.info("retrain skipped", extra={"reason": reason, **context})
    count("RetrainSkipped", reason=reason)
    return {"status": "skipped", "reason": reason}


def retrain(trigger: Trigger, settings: DriftRetrainSettings, cause: str) -> dict[str, Any]:
    now = time.time()
    last = _last_retrain(settings)
    if last is not None and now - last < settings.retrain_cooldown_seconds:
        return skipped("cooldown", last_retrain=now_iso(last), cause=cause)
    token = make_token(trigger.event_type.replace(":", "-"), trigger.event_id)
    if not acquire_guard(settings, token):
        return skipped("in_flight", cause=cause)
    # The guard serialises retrains, but the counter is still a conditional update so that the
    # cap holds even if a guard is ever taken over.
    day = now_iso(now)[:10]
    if not _count_retrain(settings, day, now):
        release_guard(settings, token=token)
        return skipped("daily_cap", day=day, cap=settings.retrain_daily_cap, cause=cause)
    try:
        execution_arn = drain_and_start(
            settings,
            token=token,
            trigger=trigger,
            description=f"{trigger.event_type} retrain ({cause})",
            allow_empty=True,
            labelled_traffic=labelled_traffic(settings, now),
        )
    except Exception:
        _uncount_retrain(settings, day)
        raise
    if execution_arn is None:  # no accepted data to train on; the guard is released
        _uncount_retrain(settings, day)
        return skipped("no_data", cause=cause)
    client("dynamodb").put_item(
        TableName=settings.state_table,
        Item={
            **COOLDOWN_KEY,
            "started_at": {"S": now_iso(now)},
            "started_epoch": {"N": str(int(now))},
            "execution_arn": {"S": execution_arn},
        },
    )
    count("RetrainStarted", reason=trigger.event_type)
    return {"status": "started", "execution_arn": execution_arn}


def _last_retrain(settings: DriftRetrainSettings) -> float | None:
    item = (
        client("dynamodb")
        .get_item(TableName=settings.state_table, Key=COOLDOWN_KEY, ConsistentRead=True)
        .get("Item")
    )
    return float(item["started_epoch"]["N"]) if item else None


def _counter_key(day: str) -> dict[str, Any]:
    return {"pk": {"S": "retrain-count"}, "sk": {"S": day}}


def _count_retrain(settings: DriftRetrainSettings, day: str, now: float) -> bool:
    try:
        client("dynamodb").update_item(
            TableName=settings.state_table,
            Key=_counter_key(day),
            UpdateExpression="SET #c = if_not_exists(#c, :zero) + :one, expiration = :exp",
            ConditionExpression="attribute_not_exists(#c) OR #c < :cap",
            ExpressionAttributeNames={"#c": "count"},
            ExpressionAttributeValues={
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
                ":cap": {"N": str(settings.retrain_daily_cap)},
                ":exp": {"N": str(int(now) + _COUNTER_TTL_SECONDS)},
            },
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _uncount_retrain(settings: DriftRetrainSettings, day: str) -> None:
    client("dynamodb").update_item(
        TableName=settings.state_table,
        Key=_counter_key(day),
        UpdateExpression="SET #c = #c - :one",
        ConditionExpression="#c > :zero",
        ExpressionAttributeNames={"#c": "count"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"}},
    )
