"""`live/<endpoint>.json`: what the endpoint serves, one S3 version per change.

Evaluate compares new models with its metric, the drift check reads its baseline, and lineage
reads its versions to say what served when. So it follows what SageMaker says serves (the
endpoint's config), never what was asked for.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from functions.shared.clients import client
from functions.shared.settings import DeploySettings
from functions.shared.training import now_iso


def _key(settings: DeploySettings) -> str:
    return f"live/{settings.endpoint_name}.json"


def read_live(settings: DeploySettings) -> dict[str, Any] | None:
    s3 = client("s3")
    try:
        body = s3.get_object(Bucket=settings.artifacts_bucket, Key=_key(settings))["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return json.loads(body)


def serving_package(live: dict[str, Any] | None) -> str | None:
    return (live or {}).get("model_package_arn") or None


def _write(settings: DeploySettings, record: dict[str, Any]) -> None:
    client("s3").put_object(
        Bucket=settings.artifacts_bucket,
        Key=_key(settings),
        Body=json.dumps(record, indent=2).encode(),
        ContentType="application/json",
    )


def record_serving(
    settings: DeploySettings,
    package_arn: str,
    config_name: str,
    previous: dict[str, Any] | None,
    since: datetime | None = None,
) -> dict[str, Any]:
    """`since`: when SageMaker settled the endpoint on this config (DescribeEndpoint's
    LastModifiedTime). The record is written when this function hears of it, which may be much
    later (EventBridge delivers at least once, Lambda retries); the monitoring run measures the
    model's predictions from `deployed_at`, so it must be when the model began to serve."""
    package = client("sagemaker").describe_model_package(ModelPackageName=package_arn)
    props = package.get("CustomerMetadataProperties", {})
    container = package["InferenceSpecification"]["Containers"][0]
    metric_value = props.get("MetricValue")
    record = {
        "endpoint_name": settings.endpoint_name,
        "model_package_arn": package_arn,
        "model_package_version": package.get("ModelPackageVersion"),
        "model_data_url": container.get("ModelDataUrl", ""),
        "baseline_uri": props.get("BaselineUri", ""),
        "evaluation_uri": props.get("EvaluationUri", ""),
        "metric_name": props.get("MetricName", ""),
        "metric_value": float(metric_value) if metric_value not in (None, "") else None,
        "deployed_at": now_iso(since.timestamp() if since is not None else None),
        "endpoint_config_name": config_name,
        "previous_model_package_arn": serving_package(previous),
    }
    _write(settings, record)
    return record


def record_nothing_serves(
    settings: DeploySettings, previous: dict[str, Any] | None, reason: str
) -> dict[str, Any]:
    """The endpoint was deleted: a version saying so, so lineage never names a deleted model."""
    record = {
        "endpoint_name": settings.endpoint_name,
        "model_package_arn": None,
        "endpoint_config_name": None,
        "metric_name": "",
        "metric_value": None,
        "deployed_at": now_iso(),
        "previous_model_package_arn": serving_package(previous),
        "reason": reason,
    }
    _write(settings, record)
    return record
