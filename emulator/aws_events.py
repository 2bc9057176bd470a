"""The EventBridge envelope AWS services put on their events, shared by every emitter."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any


def iso(value: Any) -> Any:
    """Datetimes as EventBridge writes them (second precision, Z); anything else unchanged."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {k: iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [iso(v) for v in value]
    return value


def aws_event(
    *,
    source: str,
    detail_type: str,
    account: str,
    region: str,
    resources: list[str],
    detail: dict[str, Any],
) -> dict[str, Any]:
    """An EventBridge envelope with the fields every AWS service event carries."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": iso(dt.datetime.now(dt.UTC)),
        "region": region,
        "resources": resources,
        "detail": detail,
    }
