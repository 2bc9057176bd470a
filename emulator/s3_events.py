"""S3 -> EventBridge `Object Created` / `Object Deleted` events with the real AWS shape.

moto already sends something to its own EventBridge for buckets with EventBridge notifications
on, but with a fixed sequencer, a float `time` and `reason: "ObjectCreated"`; and moto's events
deliver only to SQS and Logs. So the runtime wraps `moto.s3.notifications.send_event` (the one
function every object write goes through: PUT, POST, copy, multipart completion, delete) and
builds the event itself, synchronously in the request that wrote the object: exactly one event per
write, none lost, whatever client wrote it.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from moto.s3 import notifications

from emulator.aws_events import aws_event

# S3 notification event name -> the `reason` EventBridge carries.
_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "PostObject",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete": "DeleteObject",
    "s3:ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
}

_sequence = itertools.count(1)
_sequence_lock = threading.Lock()


def _sequencer() -> str:
    # Sequencers order events for the same key; a process-wide counter keeps that promise.
    with _sequence_lock:
        return f"{next(_sequence):018X}"


def object_event(event_name: str, bucket: Any, key: Any, account_id: str) -> dict[str, Any] | None:
    """The EventBridge event S3 sends for one notification, or None for other kinds."""
    reason = _REASONS.get(event_name)
    if reason is None:
        return None
    created = "ObjectCreated" in str(event_name)
    obj: dict[str, Any] = {"key": key.name}
    if created:
        obj |= {"size": key.size, "etag": key.etag.replace('"', "")}
    if bucket.is_versioned and key.version_id not in (None, "null"):
        obj["version-id"] = key.version_id
    obj["sequencer"] = _sequencer()
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket.name},
        "object": obj,
        "request-id": _sequencer()[-16:],
        "requester": account_id,
        "source-ip-address": "127.0.0.1",
        "reason": reason,
    }
    if not created:
        detail["deletion-type"] = (
            "Delete Marker Created"
            if event_name.endswith("DeleteMarkerCreated")
            else "Permanently Deleted"
        )
    return aws_event(
        source="aws.s3",
        detail_type="Object Created" if created else "Object Deleted",
        account=account_id,
        region=bucket.region_name,
        resources=[f"arn:aws:s3:::{bucket.name}"],
        detail=detail,
    )


@contextlib.contextmanager
def patched(emit: Callable[[dict[str, Any]], None]) -> Iterator[None]:
    """While active, every object write to a bucket with EventBridge notifications emits."""
    original = notifications.send_event

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        original(account_id, event_name, bucket, key)
        config = bucket.notification_configuration
        if config is None or config.event_bridge is None:
            return
        event = object_event(str(getattr(event_name, "value", event_name)), bucket, key, account_id)
        if event is not None:
            emit(event)

    with mock.patch.object(notifications, "send_event", send_event):
        yield
