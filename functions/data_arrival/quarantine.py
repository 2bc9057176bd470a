"""Copy a rejected object to quarantine/ with a machine-readable reason, and take it out of the
training input without destroying it.

A run's manifest lists only current, accepted versions under `incoming/`, so a rejected object
must stop being current there: a delete marker does that in the versioned bucket while the
rejected version stays readable by its version id (named in the reason file), next to its copy
in quarantine/.
"""

from __future__ import annotations

import json
from typing import Any

from functions.data_arrival.checks import Rejection
from functions.shared.clients import client
from functions.shared.observability import count, logger
from functions.shared.settings import DataArrivalSettings
from functions.shared.training import now_iso

# CopyObject copies up to 5 GiB in one request; beyond that the original stays where it is and
# only the reason is written (the object is still never deleted and never sent to training).
_MAX_SINGLE_COPY = 5 * 1024**3


def quarantine(
    arrival: dict[str, Any], rejection: Rejection, settings: DataArrivalSettings
) -> dict[str, Any]:
    target = f"{settings.quarantine_prefix}{arrival['key']}"
    copied = arrival["size"] <= _MAX_SINGLE_COPY
    if copied:
        source = {"Bucket": arrival["bucket"], "Key": arrival["key"]}
        if arrival["version_id"]:
            source["VersionId"] = arrival["version_id"]
        client("s3").copy_object(
            Bucket=settings.data_bucket,
            Key=target,
            CopySource=source,
            MetadataDirective="COPY",
        )
    reason = {
        "reason": rejection.reason,
        "message": rejection.message,
        "details": rejection.details,
        "bucket": arrival["bucket"],
        "key": arrival["key"],
        "version_id": arrival["version_id"],
        "size": arrival["size"],
        "etag": arrival["etag"],
        "event_id": arrival["event_id"],
        "event_time": arrival["event_time"],
        "quarantine_key": target if copied else None,
        "quarantined_at": now_iso(),
        "hidden_from_training": _hide_from_training(arrival),
    }
    client("s3").put_object(
        Bucket=settings.data_bucket,
        Key=f"{target}.reason.json",
        Body=json.dumps(reason, indent=2).encode(),
        ContentType="application/json",
    )
    logger.warning(
        "object quarantined",
        extra={
            k: reason[k]
            for k in (
                "reason",
                "key",
                "version_id",
                "details",
                "quarantine_key",
                "hidden_from_training",
            )
        },
    )
    count("ObjectQuarantined", reason=rejection.reason)
    return {"status": "quarantined", "reason": rejection.reason, "key": arrival["key"]}


def _hide_from_training(arrival: dict[str, Any]) -> bool:
    """Put a delete marker on the key only while the rejected version is still the current one:
    a good file uploaded under the same key since then must stay in the training input."""
    s3 = client("s3")
    try:
        current = s3.head_object(Bucket=arrival["bucket"], Key=arrival["key"])
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return True  # already gone from the training input
        raise
    if arrival["version_id"] and current.get("VersionId") != arrival["version_id"]:
        return False
    s3.delete_object(Bucket=arrival["bucket"], Key=arrival["key"])
    return True
