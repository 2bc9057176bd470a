"""Route one S3 arrival: ignore, quarantine, start a training run, or coalesce into the next."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from functions.data_arrival.checks import (
    HEAD_BYTES,
    Rejection,
    check_head,
    check_metadata,
    column_rejection,
    parquet_columns,
    split_extension,
)
from functions.data_arrival.gzip_scan import GzipLimits, scan_gzip
from functions.data_arrival.parquet_footer import read_columns
from functions.data_arrival.quarantine import quarantine
from functions.shared.clients import client
from functions.shared.dataset import record_accepted
from functions.shared.events import ObjectCreatedEvent
from functions.shared.observability import count, logger
from functions.shared.outcomes import ignored
from functions.shared.runs import drain_and_start
from functions.shared.settings import DataArrivalSettings
from functions.shared.training import (
    Trigger,
    acquire_guard,
    add_pending,
    make_token,
    now_iso,
)

_GONE = frozenset({"404", "NoSuchKey", "NoSuchVersion", "NotFound"})


def process_event(
    event: ObjectCreatedEvent, settings: DataArrivalSettings, context: LambdaContext | None
) -> dict[str, Any]:
    """Filter what is not ours, then check and route the object once per version."""
    if event.detail_type != "Object Created":
        return ignored("not_object_created", detail_type=event.detail_type)
    bucket = event.detail.bucket.name
    raw_key = event.detail.object.key
    # Keys arrive URL-encoded (spaces as '+'); the raw form is kept as a fallback when reading.
    key = unquote_plus(raw_key)
    if bucket != settings.data_bucket:
        return ignored("other_bucket", bucket=bucket, key=key)
    if not key.startswith(settings.incoming_prefix):
        return ignored("other_prefix", bucket=bucket, key=key)
    if key.endswith("/"):
        return ignored("folder_marker", bucket=bucket, key=key)
    arrival = {
        "bucket": bucket,
        "key": key,
        "raw_key": raw_key,
        "version_id": event.detail.object.version_id,
        "sequencer": event.detail.object.sequencer or "",
        "size": event.detail.object.size,
        "etag": event.detail.object.etag,
        "event_id": event.id,
        "event_time": now_iso(event.time.timestamp()),
    }
    handle, config = _idempotent(settings.state_table, settings.idempotency_ttl_seconds)
    if context is not None:
        config.register_lambda_context(context)
    try:
        return handle(arrival=arrival, settings=settings, context=context)
    except IdempotencyAlreadyInProgressError:
        # EventBridge may deliver the same event twice at once. The copy in progress does the
        # work; if it fails, Lambda retries that invocation, and its in-progress record expires
        # with the invocation's time limit (register_lambda_context). Failing this copy would
        # only count an error and trip the errors alarm.
        # https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/
        return ignored("duplicate_in_progress", key=key, version_id=arrival["version_id"])


@functools.cache
def _idempotent(table: str, ttl: int) -> tuple[Callable[..., dict[str, Any]], IdempotencyConfig]:
    """check_and_route behind Powertools Idempotency, built on first use (its client too)."""
    persistence = DynamoDBPersistenceLayer(
        table_name=table,
        key_attr="pk",
        sort_key_attr="sk",
        expiry_attr="expiration",
        boto3_client=client("dynamodb"),
    )
    # Same bucket, key and version: same record. Unversioned buckets fall back to the sequencer.
    config = IdempotencyConfig(
        event_key_jmespath="[bucket, key, version_id || sequencer]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=ttl,
    )
    handle = idempotent_function(
        data_keyword_argument="arrival", persistence_store=persistence, config=config
    )(check_and_route)
    return handle, config


def check_and_route(
    arrival: dict[str, Any],
    settings: DataArrivalSettings,
    context: LambdaContext | None = None,
) -> dict[str, Any]:
    """The checks, then quarantine or route. Runs at most once per object version."""
    head = _head(arrival)
    if head is None:
        return ignored("object_not_found", key=arrival["key"], version_id=arrival["version_id"])
    arrival = {
        **arrival,
        "key": head["_key"],
        "size": head["ContentLength"],
        "etag": head.get("ETag", "").strip('"') or arrival["etag"],
        "version_id": head.get("VersionId") or arrival["version_id"],
    }
    rejection = check_metadata(arrival["key"], arrival["size"], settings)
    if rejection is None:
        try:
            rejection = check_content(arrival, settings, context)
        except _Gone:
            return ignored("object_not_found", key=arrival["key"], version_id=arrival["version_id"])
    if rejection is not None:
        return quarantine(arrival, rejection, settings)
    count("ObjectAccepted")
    return route(arrival, settings)


def route(arrival: dict[str, Any], settings: DataArrivalSettings) -> dict[str, Any]:
    """Start a run now, or leave the arrival pending for the run after the one in flight."""
    entry = {
        k: arrival[k]
        for k in ("bucket", "key", "version_id", "size", "etag", "event_id", "event_time")
    }
    version = arrival["version_id"] or arrival["sequencer"]
    token = make_token("arrival", arrival["bucket"], arrival["key"], version)
    record_accepted(settings, entry)
    add_pending(settings, entry)
    if not acquire_guard(settings, token):
        logger.info(
            "arrival coalesced into the next run",
            extra={"key": arrival["key"], "version_id": arrival["version_id"]},
        )
        count("ArrivalCoalesced")
        return {"status": "coalesced", "key": arrival["key"]}
    execution_arn = drain_and_start(
        settings,
        token=token,
        trigger=Trigger(event_id=arrival["event_id"], event_type="s3:ObjectCreated"),
        description=f"s3:ObjectCreated s3://{arrival['bucket']}/{arrival['key']}",
        allow_empty=False,
        coalesce=True,
    )
    if execution_arn is None:  # a concurrent drain already took our pending item
        return {"status": "coalesced", "key": arrival["key"]}
    count("TrainingStarted")
    return {"status": "started", "execution_arn": execution_arn, "key": arrival["key"]}


def _versioned(arrival: dict[str, Any], key: str) -> dict[str, Any]:
    params = {"Bucket": arrival["bucket"], "Key": key}
    if arrival["version_id"]:
        params["VersionId"] = arrival["version_id"]
    return params


def _head(arrival: dict[str, Any]) -> dict[str, Any] | None:
    """HeadObject of the event's version; None when it no longer exists."""
    keys = dict.fromkeys([arrival["key"], arrival["raw_key"]])  # decoded first, then as sent
    for key in keys:
        try:
            head = client("s3").head_object(**_versioned(arrival, key))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _GONE:
                continue
            raise
        return {**head, "_key": key}
    return None


class _Gone(Exception):
    """The object version was deleted while it was being read."""


# Left for quarantining and routing once the content is read; a check that cannot finish
# before this is a named rejection, never a timeout that dead-letters the event.
_RESERVED_MILLIS = 10_000


def check_content(
    arrival: dict[str, Any], settings: DataArrivalSettings, context: LambdaContext | None
) -> Rejection | None:
    """Read what the object's format needs (checks.py says what) and check it."""
    key, size = arrival["key"], arrival["size"]
    extension, gzipped = split_extension(key)
    if extension == "parquet":
        columns = read_columns(lambda start, length: _read_range(arrival, start, length), size)
        if isinstance(columns, Rejection):
            return columns
        return column_rejection(parquet_columns(columns), settings.schema_columns)
    if gzipped:
        limits = GzipLimits(settings.max_uncompressed_bytes, settings.max_decompression_ratio)
        body = _open(arrival)
        try:
            scanned = scan_gzip(body, size, limits, _out_of_time(context))
        finally:
            body.close()
        if isinstance(scanned, Rejection):
            return scanned
        head, complete = scanned
        return check_head(key, head, complete, settings)
    sample = _read_range(arrival, 0, HEAD_BYTES)
    return check_head(key, sample, len(sample) >= size, settings)


def _out_of_time(context: LambdaContext | None) -> Callable[[], bool]:
    if context is None:
        return lambda: False
    return lambda: context.get_remaining_time_in_millis() < _RESERVED_MILLIS


def _get(arrival: dict[str, Any], **extra: Any) -> dict[str, Any]:
    try:
        return client("s3").get_object(**_versioned(arrival, arrival["key"]), **extra)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in _GONE:
            raise _Gone from exc
        raise


def _open(arrival: dict[str, Any]) -> Any:
    """The object's body as a stream: read in pieces, never held whole."""
    return _get(arrival)["Body"]


def _read_range(arrival: dict[str, Any], start: int, length: int) -> bytes:
    return _get(arrival, Range=f"bytes={start}-{start + length - 1}")["Body"].read()
