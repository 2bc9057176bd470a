"""Quarantine of the objects Validate rejected, in the layout the arrival check uses.

For each rejected object: the bytes Validate read go to `quarantine/<key>`, the reason to
`quarantine/<key>.reason.json`, and a delete marker is put on `<key>` while the rejected version
is still the current one there, so the next run's input no longer holds it (the versioned bucket
keeps the rejected version readable by its id; a good file uploaded under the same key since
then stays). The next upload then trains without anyone deleting anything by hand.

It runs inside the Validate processing job, with the pipeline's execution role: the job's
container gets that role's credentials ("the IAM role that Amazon SageMaker can assume to
perform tasks on your behalf", RoleArn in
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateProcessingJob.html), which
holds s3:PutObject on `quarantine/*` and s3:DeleteObject on `incoming/*` of the data bucket for
this. The local runtime runs the step with the same role's credentials and authorizes the calls
against the same policy.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.entrypoints.common import s3_client
from pipelines.steps.verdicts import ObjectVerdict

_NOT_FOUND = ("404", "NoSuchKey", "NotFound")


def quarantine_rejected(
    bucket: str,
    quarantine_prefix: str,
    rejected: list[tuple[ObjectVerdict, Path]],
    trigger_event_id: str,
) -> list[dict[str, Any]]:
    """Quarantine each (verdict, local file); the reason records, in order."""
    s3 = s3_client()
    records = []
    for verdict, path in rejected:
        ref = verdict.object
        record = _put(s3, bucket, f"{quarantine_prefix}{ref.key}", verdict, path, trigger_event_id)
        record["hidden_from_training"] = _hide_from_training(
            s3, bucket, ref.key, ref.version_id, path
        )
        _put_reason(s3, bucket, record)
        records.append(record)
    return records


def quarantine_labelled(
    bucket: str,
    quarantine_prefix: str,
    rejected: list[tuple[ObjectVerdict, Path]],
    trigger_event_id: str,
    labels: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Quarantine the labelled rows of each rejected capture object (retrain.labelled_traffic):
    the rows Validate read go to `quarantine/<capture key>.labelled.csv`, the reason beside
    them, naming the capture version and the ground-truth versions (`labels`) that labelled
    it. The capture object itself stays where it is (monitoring reads it): each retrain joins
    and checks its rows again, so they never reach a model."""
    s3 = s3_client()
    records = []
    for verdict, path in rejected:
        target = f"{quarantine_prefix}{verdict.object.key}.labelled.csv"
        record = _put(s3, bucket, target, verdict, path, trigger_event_id)
        record["labelled_by"] = [
            {"key": entry["key"], "version_id": entry.get("version_id")} for entry in labels
        ]
        record["hidden_from_training"] = False
        _put_reason(s3, bucket, record)
        records.append(record)
    return records


def _put(
    s3: Any, bucket: str, target: str, verdict: ObjectVerdict, path: Path, trigger_event_id: str
) -> dict[str, Any]:
    """The bytes Validate read, under `target`; the reason record, not yet written."""
    ref = verdict.object
    with path.open("rb") as body:
        s3.put_object(Bucket=bucket, Key=target, Body=body)
    return {
        "reason": verdict.reason(),
        "message": "; ".join(verdict.messages()),
        "details": {"violations": [v.message for v in verdict.violations]},
        "bucket": bucket,
        "key": ref.key,
        "version_id": ref.version_id,
        "size": path.stat().st_size,
        "rows": verdict.rows,
        "checked_by": "training pipeline, Validate step",
        "event_id": trigger_event_id,
        "quarantine_key": target,
        "quarantined_at": datetime.now(UTC).isoformat(),
    }


def _put_reason(s3: Any, bucket: str, record: dict[str, Any]) -> None:
    s3.put_object(
        Bucket=bucket,
        Key=f"{record['quarantine_key']}.reason.json",
        Body=json.dumps(record, indent=2).encode(),
        ContentType="application/json",
    )


def _hide_from_training(s3: Any, bucket: str, key: str, version_id: str | None, path: Path) -> bool:
    """A delete marker on the key while the rejected version is still its current one.

    Without a version id (an unversioned input listing), the current object counts as the one
    read when its size is the size read.
    """
    from botocore.exceptions import ClientError

    try:
        current = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        # HeadObject answers 403 for a missing key to a caller whose s3:ListBucket does not
        # cover it (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html); the
        # prefix listing tells a missing key from a refused one.
        if code in _NOT_FOUND or (code in ("403", "AccessDenied") and not _listed(s3, bucket, key)):
            return True  # already gone from the training input
        raise
    if version_id is not None:
        if current.get("VersionId") != version_id:
            return False
    elif current.get("ContentLength") != path.stat().st_size:
        return False
    s3.delete_object(Bucket=bucket, Key=key)
    return True


def _listed(s3: Any, bucket: str, key: str) -> bool:
    page = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    return any(o["Key"] == key for o in page.get("Contents", []))
