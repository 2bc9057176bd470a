"""Copy a rejected object to quarantine/ with a machine-readable reason; never delete it."""

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
    }
    client("s3").put_object(
        Bucket=settings.data_bucket,
        Key=f"{target}.reason.json",
        Body=json.dumps(reason, indent=2).encode(),
        ContentType="application/json",
    )
    logger.warning(
        "object quarantined",
        extra={k: reason[k] for k in ("reason", "key", "version_id", "details", "quarantine_key")},
    )
    count("ObjectQuarantined", reason=rejection.reason)
    return {"status": "quarantined", "reason": rejection.reason, "key": arrival["key"]}
