"""Every event the runtime emits, built here in the shape AWS services put on EventBridge.

One envelope factory (`aws_event`) and one builder per kind: S3 object events, SageMaker pipeline
execution, model package and endpoint state changes, CloudWatch alarm state changes, scheduled
events. The shapes follow the samples in `tests/events/`, taken from the AWS documentation:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html
https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
import uuid
from typing import Any

_sequence = itertools.count(1)
_sequence_lock = threading.Lock()


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


def millis(value: dt.datetime) -> int:
    return int(value.replace(tzinfo=value.tzinfo or dt.UTC).timestamp() * 1000)


def aws_event(
    *,
    source: str,
    detail_type: str,
    account: str,
    region: str,
    resources: list[str],
    detail: dict[str, Any],
    time: dt.datetime | None = None,
) -> dict[str, Any]:
    """An EventBridge envelope with the fields every AWS service event carries."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": iso(time or dt.datetime.now(dt.UTC)),
        "region": region,
        "resources": resources,
        "detail": detail,
    }


def _sequencer() -> str:
    # Sequencers order events for the same key; a process-wide counter keeps that promise.
    with _sequence_lock:
        return f"{next(_sequence):018X}"


# S3 API operation -> the `reason` its EventBridge event carries.
S3_REASONS = {
    "PutObject": "PutObject",
    "PostObject": "PostObject",
    "CopyObject": "CopyObject",
    "CompleteMultipartUpload": "CompleteMultipartUpload",
    "DeleteObject": "DeleteObject",
    "DeleteObjects": "DeleteObject",
}


def s3_object_event(
    *,
    operation: str,
    bucket: str,
    key: str,
    account: str,
    region: str,
    version_id: str | None,
    size: int | None = None,
    etag: str | None = None,
    delete_marker: bool = False,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """`Object Created` or `Object Deleted` for one object written through the S3 API."""
    created = not operation.startswith("Delete")
    obj: dict[str, Any] = {"key": key}
    if created:
        obj |= {"size": size or 0, "etag": (etag or "").strip('"')}
    if version_id not in (None, "null"):
        obj["version-id"] = version_id
    obj["sequencer"] = _sequencer()
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": obj,
        "request-id": _sequencer()[-16:],
        "requester": account,
        "source-ip-address": source_ip,
        "reason": S3_REASONS[operation],
    }
    if not created:
        detail["deletion-type"] = (
            "Delete Marker Created" if delete_marker else "Permanently Deleted"
        )
    return aws_event(
        source="aws.s3",
        detail_type="Object Created" if created else "Object Deleted",
        account=account,
        region=region,
        resources=[f"arn:aws:s3:::{bucket}"],
        detail=detail,
    )


PIPELINE_EVENT = "SageMaker Model Building Pipeline Execution Status Change"
MODEL_PACKAGE_EVENT = "SageMaker Model Package State Change"
ENDPOINT_EVENT = "SageMaker Endpoint State Change"


def _arn_parts(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return parts[3], parts[4]


def pipeline_execution_event(
    *,
    pipeline_arn: str,
    execution_arn: str,
    status: str,
    previous: str | None,
    started: dt.datetime,
    ended: dt.datetime | None,
    display_name: str,
    description: str = "",
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "pipelineExecutionDisplayName": display_name,
        "currentPipelineExecutionStatus": status,
    }
    if previous is not None:
        detail["previousPipelineExecutionStatus"] = previous
    detail["executionStartTime"] = iso(started)
    if ended is not None:
        detail["executionEndTime"] = iso(ended)
    detail["pipelineExecutionDescription"] = description
    detail["pipelineArn"] = pipeline_arn
    detail["pipelineExecutionArn"] = execution_arn
    region, account = _arn_parts(execution_arn)
    return aws_event(
        source="aws.sagemaker",
        detail_type=PIPELINE_EVENT,
        account=account,
        region=region,
        resources=[pipeline_arn, execution_arn],
        detail=detail,
    )


def model_package_event(
    package: dict[str, Any], updated_fields: list[str] | None
) -> dict[str, Any]:
    """From a DescribeModelPackage response; `updated_fields` for an update, None at creation."""
    detail = {k: v for k, v in iso(package).items() if k != "ResponseMetadata"}
    if updated_fields is not None:
        detail["UpdatedModelPackageFields"] = updated_fields
    arn = package["ModelPackageArn"]
    region, account = _arn_parts(arn)
    return aws_event(
        source="aws.sagemaker",
        detail_type=MODEL_PACKAGE_EVENT,
        account=account,
        region=region,
        resources=[arn],
        detail=detail,
    )


def event_status(status: str) -> str:
    """API statuses (InService) as the events spell them (IN_SERVICE)."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", status).upper()


def endpoint_event(
    *,
    name: str,
    arn: str,
    config_name: str,
    status: str,
    variants: list[dict[str, Any]],
    created: dt.datetime,
    modified: dt.datetime,
    failure_reason: str | None = None,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "EndpointName": name,
        "EndpointArn": arn,
        "EndpointConfigName": config_name,
        "ProductionVariants": variants,
        "EndpointStatus": event_status(status),
        "CreationTime": millis(created),
        "LastModifiedTime": millis(modified),
        "Tags": tags or {},
    }
    if failure_reason:
        detail["FailureReason"] = failure_reason
    region, account = _arn_parts(arn)
    return aws_event(
        source="aws.sagemaker",
        detail_type=ENDPOINT_EVENT,
        account=account,
        region=region,
        resources=[arn],
        detail=detail,
    )


def alarm_event(
    *,
    arn: str,
    name: str,
    state: dict[str, Any],
    previous: dict[str, Any],
    configuration: dict[str, Any],
) -> dict[str, Any]:
    region, account = _arn_parts(arn)
    return aws_event(
        source="aws.cloudwatch",
        detail_type="CloudWatch Alarm State Change",
        account=account,
        region=region,
        resources=[arn],
        detail={
            "alarmName": name,
            "state": state,
            "previousState": previous,
            "configuration": configuration,
        },
    )


def scheduled_event(*, rule_arn: str, when: dt.datetime) -> dict[str, Any]:
    region, account = _arn_parts(rule_arn)
    return aws_event(
        source="aws.events",
        detail_type="Scheduled Event",
        account=account,
        region=region,
        resources=[rule_arn],
        detail={},
        time=when,
    )


def put_event(entry: dict[str, Any], *, account: str, region: str) -> dict[str, Any]:
    """The event EventBridge makes of one PutEvents entry."""
    import json

    detail = entry.get("Detail") or "{}"
    return aws_event(
        source=entry["Source"],
        detail_type=entry["DetailType"],
        account=account,
        region=region,
        resources=list(entry.get("Resources") or []),
        detail=json.loads(detail),
        time=entry.get("Time") if isinstance(entry.get("Time"), dt.datetime) else None,
    )
