"""Start one training run with a data manifest, as the holder of the in-flight guard.

The manifest (docs/contracts.md) names the exact object versions the run reads: the accepted
dataset when the run is decided (functions/shared/dataset.py), whatever started the run. The
arrivals that started it are listed beside them, as the trigger's detail.
"""

from __future__ import annotations

import json
from typing import Any

from functions.shared.clients import client
from functions.shared.dataset import accepted_dataset
from functions.shared.observability import logger
from functions.shared.settings import _TrainingSettings
from functions.shared.training import (
    GUARD_KEY,
    PENDING_PK,
    Trigger,
    release_guard,
)

_BATCH = 25  # BatchWriteItem's limit per request


def read_pending(settings: _TrainingSettings) -> list[dict[str, Any]]:
    """Every pending item (keys and object entry), oldest first, with consistent reads."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": settings.state_table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": PENDING_PK}},
        "ConsistentRead": True,
    }
    while True:
        page = client("dynamodb").query(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def delete_pending(settings: _TrainingSettings, items: list[dict[str, Any]]) -> None:
    requests = [{"DeleteRequest": {"Key": {"pk": i["pk"], "sk": i["sk"]}}} for i in items]
    for start in range(0, len(requests), _BATCH):
        batch = {settings.state_table: requests[start : start + _BATCH]}
        # UnprocessedItems is part of BatchWriteItem's contract (partial success), not an error
        # that botocore could retry; resubmit what is left, a bounded number of times.
        for _ in range(8):
            batch = (
                client("dynamodb").batch_write_item(RequestItems=batch).get("UnprocessedItems", {})
            )
            if not batch:
                break
        else:
            raise RuntimeError("pending items left undeleted after repeated partial batch writes")


def unique_objects(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Manifest entries from pending items, one per (bucket, key, version), oldest first."""
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for item in items:
        entry = json.loads(item["object"]["S"])
        seen.setdefault((entry["bucket"], entry["key"], entry["version_id"]), entry)
    return list(seen.values())


def start_training(
    settings: _TrainingSettings,
    *,
    token: str,
    trigger: Trigger,
    objects: list[dict[str, Any]],
    description: str,
    arrivals: list[dict[str, Any]] | None = None,
    labelled_traffic: dict[str, Any] | None = None,
) -> str:
    """Write the manifest and start the pipeline; the caller holds the guard under `token`.

    On failure the guard is released and the error re-raised, so the invocation fails (and is
    retried, then lands in the DLQ) instead of leaving a guard that blocks every later run.
    """
    manifest_key = f"manifests/{token}.json"
    manifest = {
        "trigger": {"event_id": trigger.event_id, "event_type": trigger.event_type},
        "objects": objects,
        "arrivals": arrivals or [],
    }
    if labelled_traffic is not None:
        manifest["labelled_traffic"] = labelled_traffic
    try:
        client("s3").put_object(
            Bucket=settings.artifacts_bucket,
            Key=manifest_key,
            Body=json.dumps(manifest, separators=(",", ":")).encode(),
            ContentType="application/json",
        )
        response = client("sagemaker").start_pipeline_execution(
            PipelineName=settings.training_pipeline_name,
            PipelineParameters=[
                {"Name": "InputDataUri", "Value": settings.input_data_uri},
                {
                    "Name": "DataManifestUri",
                    "Value": f"s3://{settings.artifacts_bucket}/{manifest_key}",
                },
                {"Name": "TriggerEventId", "Value": trigger.event_id},
                {"Name": "TriggerEventType", "Value": trigger.event_type},
            ],
            PipelineExecutionDescription=description[:3072],
            ClientRequestToken=token,
        )
    except Exception:
        release_guard(settings, token=token)
        raise
    execution_arn = response["PipelineExecutionArn"]
    client("dynamodb").update_item(
        TableName=settings.state_table,
        Key=GUARD_KEY,
        UpdateExpression="SET execution_arn = :arn, manifest_uri = :m",
        ConditionExpression="#t = :t",
        ExpressionAttributeNames={"#t": "token"},
        ExpressionAttributeValues={
            ":arn": {"S": execution_arn},
            ":m": {"S": f"s3://{settings.artifacts_bucket}/{manifest_key}"},
            ":t": {"S": token},
        },
    )
    logger.info(
        "training pipeline started",
        extra={
            "execution_arn": execution_arn,
            "trigger_event_id": trigger.event_id,
            "trigger_event_type": trigger.event_type,
            "objects": len(objects),
            "arrivals": len(arrivals or []),
            "capture_objects": len((labelled_traffic or {}).get("capture", [])),
            "ground_truth_objects": len((labelled_traffic or {}).get("ground_truth", [])),
            "manifest_key": manifest_key,
        },
    )
    return execution_arn


def drain_and_start(
    settings: _TrainingSettings,
    *,
    token: str,
    trigger: Trigger,
    description: str,
    allow_empty: bool,
    coalesce: bool = False,
    labelled_traffic: dict[str, Any] | None = None,
) -> str | None:
    """As the guard holder, start one run on the accepted dataset (and the labelled captured
    traffic, when given: functions/drift_retrain/traffic.py), then forget the pending arrivals
    it covers (every arrival accepted so far: the dataset is read after them).

    With nothing pending and `allow_empty` false, or nothing to train on at all, the guard is
    released and None returned. `coalesce` relabels the trigger `coalesced` when the run
    carries more than one arrival.
    """
    items = read_pending(settings)
    arrivals = unique_objects(items)
    if not arrivals and not allow_empty:
        release_guard(settings, token=token)
        return None
    objects = accepted_dataset(settings)
    if not objects and not (labelled_traffic or {}).get("capture"):
        logger.warning(
            "training not started: no accepted data under the incoming prefix",
            extra={"input_data_uri": settings.input_data_uri, "arrivals": len(arrivals)},
        )
        delete_pending(settings, items)  # their versions are no longer current
        release_guard(settings, token=token)
        return None
    if coalesce and len(arrivals) > 1:
        trigger = Trigger(event_id=trigger.event_id, event_type="coalesced")
    execution_arn = start_training(
        settings,
        token=token,
        trigger=trigger,
        objects=objects,
        description=description,
        arrivals=arrivals,
        labelled_traffic=labelled_traffic,
    )
    delete_pending(settings, items)
    return execution_arn
