"""Answer the auditor: which model served an endpoint at a time, and why it exists.

Works the same against AWS and the local runtime: it reads only what the loop writes anyway —
the versioned live record (`live/<endpoint>.json`, one S3 version per deployment), the model
package's lineage metadata, and the data manifest of the run that trained it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse


class LineageError(LookupError):
    """Nothing served the endpoint at that time, or a record the answer needs is missing."""


@dataclass(frozen=True)
class DataObject:
    bucket: str
    key: str
    version_id: str | None
    size: int | None = None
    rows: int | None = None  # a capture object: the labelled rows it gave to training


@dataclass(frozen=True)
class LabelledTraffic:
    """The captured requests and labels a run trained on (retrain.labelled_traffic)."""

    since: str
    until: str
    rows: int | None  # labelled rows that trained; None when only the manifest is known
    capture: list[DataObject] = field(default_factory=list)
    ground_truth: list[DataObject] = field(default_factory=list)


@dataclass(frozen=True)
class Lineage:
    endpoint_name: str
    at: str
    served_since: str
    model_package_arn: str
    model_package_version: int | None
    approval_status: str | None
    pipeline_execution_arn: str | None
    trigger_event_id: str | None
    trigger_event_type: str | None
    data_manifest_uri: str | None
    input_data_uri: str | None
    code_version: str | None
    metric: dict[str, Any] = field(default_factory=dict)
    baseline_uri: str | None = None
    data_objects: list[DataObject] = field(default_factory=list)
    labelled_traffic: LabelledTraffic | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _split_s3(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise LineageError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def live_record_at(s3: Any, bucket: str, endpoint_name: str, at: datetime) -> tuple[dict, str]:
    """The live record version current at `at`, with the time it became current."""
    key = f"live/{endpoint_name}.json"
    versions = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        versions += [v for v in page.get("Versions", []) if v["Key"] == key]
    earlier = [v for v in versions if v["LastModified"] <= at]
    if not earlier:
        raise LineageError(f"no model served {endpoint_name} at {at.isoformat()}")
    chosen = max(earlier, key=lambda v: v["LastModified"])
    body = s3.get_object(Bucket=bucket, Key=key, VersionId=chosen["VersionId"])["Body"].read()
    return json.loads(body), chosen["LastModified"].isoformat()


def _read(s3: Any, uri: str | None) -> dict[str, Any]:
    if not uri or uri == "none":
        return {}
    bucket, key = _split_s3(uri)
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _objects(entries: list[dict[str, Any]]) -> list[DataObject]:
    return [
        DataObject(
            o["bucket"], o["key"], o.get("version_id"), o.get("size"), o.get("labelled_rows")
        )
        for o in entries
    ]


def manifest_objects(s3: Any, manifest_uri: str | None) -> list[DataObject]:
    return _objects(_read(s3, manifest_uri).get("objects", []))


def run_record(s3: Any, meta: dict[str, str]) -> dict[str, Any]:
    """What the run read: its Validate step's record (`DataObjectsUri`), which leaves out any
    version of the manifest that was gone by then. Packages registered before that record
    existed have their manifest only."""
    return _read(s3, meta.get("DataObjectsUri") or meta.get("DataManifestUri"))


def trained_on(s3: Any, meta: dict[str, str], record: dict | None = None) -> list[DataObject]:
    """The data object versions the run read."""
    record = run_record(s3, meta) if record is None else record
    return _objects(record.get("objects", []))


def labelled_traffic(record: dict[str, Any]) -> LabelledTraffic | None:
    """The capture and ground-truth versions the run's labelled traffic read, with the rows
    each capture object gave (retrain.labelled_traffic); None when it took none."""
    traffic = record.get("labelled_traffic")
    if not isinstance(traffic, dict):
        return None
    return LabelledTraffic(
        since=traffic.get("since", ""),
        until=traffic.get("until", ""),
        rows=traffic.get("rows"),
        capture=_objects(traffic.get("capture", [])),
        ground_truth=_objects(traffic.get("ground_truth", [])),
    )


def lineage(
    *,
    s3: Any,
    sagemaker: Any,
    artifacts_bucket: str,
    endpoint_name: str,
    at: datetime | None = None,
) -> Lineage:
    at = at or datetime.now(UTC)
    record, since = live_record_at(s3, artifacts_bucket, endpoint_name, at)
    if not record.get("model_package_arn"):
        # The endpoint was taken down (the model serving was rejected, no other was approved).
        raise LineageError(
            f"no model served {endpoint_name} at {at.isoformat()}: the endpoint was deleted at "
            f"{since} ({record.get('reason', 'no reason recorded')})"
        )
    package = sagemaker.describe_model_package(ModelPackageName=record["model_package_arn"])
    meta = package.get("CustomerMetadataProperties", {})
    metric = {}
    if meta.get("MetricName"):
        metric = {"name": meta["MetricName"], "value": meta.get("MetricValue")}
        # How far to trust it: the test rows and the bootstrap interval (older packages lack them).
        extra = {
            "sample_size": meta.get("MetricSampleSize"),
            "lower": meta.get("MetricLowerBound"),
            "upper": meta.get("MetricUpperBound"),
            "confidence": meta.get("MetricConfidence"),
        }
        metric |= {k: v for k, v in extra.items() if v is not None}
    read = run_record(s3, meta)
    return Lineage(
        endpoint_name=endpoint_name,
        at=at.isoformat(),
        served_since=since,
        model_package_arn=record["model_package_arn"],
        model_package_version=package.get("ModelPackageVersion"),
        approval_status=package.get("ModelApprovalStatus"),
        pipeline_execution_arn=meta.get("PipelineExecutionArn"),
        trigger_event_id=meta.get("TriggerEventId"),
        trigger_event_type=meta.get("TriggerEventType"),
        data_manifest_uri=meta.get("DataManifestUri"),
        input_data_uri=meta.get("InputDataUri"),
        code_version=meta.get("CodeVersion"),
        metric=metric,
        baseline_uri=meta.get("BaselineUri") or record.get("baseline_uri"),
        data_objects=trained_on(s3, meta, read),
        labelled_traffic=labelled_traffic(read),
    )


def render(answer: Lineage) -> str:
    lines = [
        f"Endpoint {answer.endpoint_name} at {answer.at}",
        f"  served   {answer.model_package_arn} (version {answer.model_package_version}, "
        f"{answer.approval_status}) since {answer.served_since}",
        f"  trained  by {answer.pipeline_execution_arn}",
        f"  because  {answer.trigger_event_type} event {answer.trigger_event_id}",
        f"  code     {answer.code_version}",
    ]
    if answer.metric:
        line = f"  metric   {answer.metric['name']} = {answer.metric['value']}"
        if "sample_size" in answer.metric:
            line += f" on {answer.metric['sample_size']} test rows"
        if "lower" in answer.metric:
            level = float(answer.metric.get("confidence", "0.95"))
            line += (
                f", {level:.0%} interval {answer.metric['lower']} to {answer.metric.get('upper')}"
            )
        lines.append(line)
    lines.append(f"  data     {answer.input_data_uri} (manifest {answer.data_manifest_uri})")
    lines += [
        f"           s3://{o.bucket}/{o.key} version {o.version_id}" for o in answer.data_objects
    ]
    traffic = answer.labelled_traffic
    if traffic is not None:
        rows = "" if traffic.rows is None else f"{traffic.rows} rows of "
        lines.append(f"  labelled {rows}captured traffic, {traffic.since} to {traffic.until}")
        lines += [
            f"           s3://{o.bucket}/{o.key} version {o.version_id}"
            + ("" if o.rows is None else f" ({o.rows} rows)")
            for o in traffic.capture
        ]
        lines += [
            f"           s3://{o.bucket}/{o.key} version {o.version_id} (labels)"
            for o in traffic.ground_truth
        ]
    if answer.baseline_uri:
        lines.append(f"  baseline {answer.baseline_uri}")
    return "\n".join(lines)


def parse_at(text: str | None) -> datetime | None:
    return _parse_time(text) if text else None
