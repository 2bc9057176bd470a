"""The training data of a run: the current object versions under `incoming/` that were accepted.

Every run reads the whole accepted dataset as it is when the run is decided, whatever started
it (an arrival, a coalesced burst, a drift alarm, a schedule). Being current under `incoming/`
is not enough: an object whose arrival check has not ended yet (or crashed, and went to the
dead-letter queue) is current too. So data_arrival records each version it accepts
(`pk=accepted#<key>, sk=<version>`), and a manifest lists exactly the current versions that
have such a record. A quarantined version is never current (it gets a delete marker), and a
version overwritten or deleted since its acceptance is not current either.

Only listings here: ListObjectVersions gives each key's current version (IsLatest) without
reading any data, and the acceptance records come back 100 keys per BatchGetItem.
"""

from __future__ import annotations

import json
from typing import Any

from functions.shared.clients import client
from functions.shared.settings import _TrainingSettings

ACCEPTED_PREFIX = "accepted#"
_BATCH_GET = 100  # BatchGetItem's limit per request
_ATTEMPTS = 8


def _accepted_key(key: str, version: str) -> dict[str, Any]:
    return {"pk": {"S": f"{ACCEPTED_PREFIX}{key}"}, "sk": {"S": version or "null"}}


def record_accepted(settings: _TrainingSettings, entry: dict[str, Any]) -> None:
    """Remember that this version passed the arrival checks (idempotent: same version, same
    item). Written before the arrival is routed, so any run decided afterwards sees it."""
    client("dynamodb").put_item(
        TableName=settings.state_table,
        Item={
            **_accepted_key(entry["key"], entry["version_id"]),
            "object": {"S": json.dumps(entry)},
        },
    )


def current_versions(
    settings: _TrainingSettings, prefix: str | None = None
) -> list[dict[str, Any]]:
    """The current version of every key under `prefix` (the incoming prefix by default), in
    key order, with its LastModified time.

    A key whose latest entry is a delete marker has no current version (deleted, or
    quarantined); folder markers are not data.
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
    """
    current = []
    pages = client("s3").get_paginator("list_object_versions")
    listing = pages.paginate(
        Bucket=settings.data_bucket,
        Prefix=settings.incoming_prefix if prefix is None else prefix,
    )
    for page in listing:
        for version in page.get("Versions", []):
            if version.get("IsLatest") and not version["Key"].endswith("/"):
                current.append(
                    {
                        "bucket": settings.data_bucket,
                        "key": version["Key"],
                        "version_id": version.get("VersionId") or "null",
                        "size": version.get("Size", 0),
                        "etag": version.get("ETag", "").strip('"'),
                        "last_modified": _iso(version.get("LastModified")),
                    }
                )
    return sorted(current, key=lambda v: v["key"])


def _iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(moment, "strftime") else ""


def _accepted(settings: _TrainingSettings, versions: list[dict[str, Any]]) -> dict[tuple, dict]:
    """(key, version) -> the acceptance record's entry, for those of `versions` that have one."""
    found: dict[tuple, dict] = {}
    for start in range(0, len(versions), _BATCH_GET):
        keys = [
            _accepted_key(v["key"], v["version_id"]) for v in versions[start : start + _BATCH_GET]
        ]
        request: dict[str, Any] = {settings.state_table: {"Keys": keys, "ConsistentRead": True}}
        # UnprocessedKeys is BatchGetItem's partial success, not an error botocore retries.
        for _ in range(_ATTEMPTS):
            answer = client("dynamodb").batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(settings.state_table, []):
                entry = json.loads(item["object"]["S"])
                found[(item["pk"]["S"].removeprefix(ACCEPTED_PREFIX), item["sk"]["S"])] = entry
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise RuntimeError("acceptance records left unread after repeated partial batch gets")
    return found


def accepted_dataset(settings: _TrainingSettings) -> list[dict[str, Any]]:
    """Manifest entries: each current version under the incoming prefix that was accepted,
    with the arrival that accepted it (event id and time)."""
    versions = current_versions(settings)
    accepted = _accepted(settings, versions)
    out = []
    for version in versions:
        entry = accepted.get((version["key"], version["version_id"]))
        if entry is not None:
            version.pop("last_modified")  # the arrival's event time says when it came
            out.append(
                {
                    **version,
                    "event_id": entry.get("event_id", ""),
                    "event_time": entry.get("event_time", ""),
                }
            )
    return out
