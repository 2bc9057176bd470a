"""Approval -> deployment; Rejected live model -> previous approved; endpoint status -> verify.

The requested deployment is recorded in the state table (`pk=deploy, sk=<endpoint>`) so the
endpoint status event can check that the endpoint really runs the config that was asked for:
SageMaker rolls a canary back on its alarms without any error to the caller.
"""

from __future__ import annotations

import json
from typing import Any

from functions.deploy.resources import (
    create_endpoint_config,
    create_model,
    describe_endpoint,
    point_endpoint_at,
    resource_name,
)
from functions.shared.clients import client
from functions.shared.events import EndpointEvent, ModelPackageEvent
from functions.shared.notify import notify
from functions.shared.observability import count, logger
from functions.shared.outcomes import ignored
from functions.shared.settings import DeploySettings
from functions.shared.training import now_iso


def _request_key(settings: DeploySettings) -> dict[str, Any]:
    return {"pk": {"S": "deploy"}, "sk": {"S": settings.endpoint_name}}


def on_package_change(event: ModelPackageEvent, settings: DeploySettings) -> dict[str, Any]:
    detail = event.detail
    if detail.group != settings.model_package_group_name:
        return ignored("other_group", group=detail.group)
    if detail.approval_status == "Approved":
        return deploy_package(detail.arn, event.id, settings)
    if detail.approval_status == "Rejected":
        return on_rejected(detail.arn, event.id, settings)
    return ignored("not_approved", approval_status=detail.approval_status)


def deploy_package(package_arn: str, event_id: str, settings: DeploySettings) -> dict[str, Any]:
    package = client("sagemaker").describe_model_package(ModelPackageName=package_arn)
    if package.get("ModelApprovalStatus") != "Approved":  # changed again since the event
        return ignored("no_longer_approved", model_package_arn=package_arn)
    name = resource_name(settings, package.get("ModelPackageVersion", 0), event_id)
    create_model(settings, name, package)
    create_endpoint_config(settings, name)
    client("dynamodb").put_item(
        TableName=settings.state_table,
        Item={
            **_request_key(settings),
            "config_name": {"S": name},
            "model_package_arn": {"S": package_arn},
            "requested_at": {"S": now_iso()},
            "event_id": {"S": event_id},
        },
    )
    action = point_endpoint_at(settings, name)
    logger.info(
        "deployment requested",
        extra={"model_package_arn": package_arn, "endpoint_config_name": name, "action": action},
    )
    count("DeploymentRequested", reason=action)
    return {"status": action, "endpoint_config_name": name, "model_package_arn": package_arn}


def read_live(settings: DeploySettings) -> dict[str, Any] | None:
    s3 = client("s3")
    try:
        body = s3.get_object(
            Bucket=settings.artifacts_bucket, Key=f"live/{settings.endpoint_name}.json"
        )["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return json.loads(body)


def on_rejected(package_arn: str, event_id: str, settings: DeploySettings) -> dict[str, Any]:
    live = read_live(settings)
    if live is None or live.get("model_package_arn") != package_arn:
        return ignored("rejected_not_live", model_package_arn=package_arn)
    approved = client("sagemaker").list_model_packages(
        ModelPackageGroupName=settings.model_package_group_name,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=10,
    )["ModelPackageSummaryList"]
    previous = next(
        (p["ModelPackageArn"] for p in approved if p["ModelPackageArn"] != package_arn), None
    )
    if previous is None:
        notify(
            settings.topic_arn,
            f"Live model rejected, no previous approved model: {settings.endpoint_name}",
            {
                "kind": "rejected_live_kept",
                "endpoint_name": settings.endpoint_name,
                "model_package_arn": package_arn,
                "action": "the live model keeps serving; approve another version to replace it",
            },
        )
        return {"status": "kept_live", "model_package_arn": package_arn}
    logger.warning("live model rejected: redeploying previous", extra={"previous": previous})
    return deploy_package(previous, event_id, settings)


def on_endpoint_status(event: EndpointEvent, settings: DeploySettings) -> dict[str, Any]:
    detail = event.detail
    if detail.endpoint_name != settings.endpoint_name:
        return ignored("other_endpoint", endpoint_name=detail.endpoint_name)
    if detail.status not in ("IN_SERVICE", "FAILED"):
        return ignored("transitional_status", endpoint_status=detail.status)
    item = (
        client("dynamodb")
        .get_item(TableName=settings.state_table, Key=_request_key(settings), ConsistentRead=True)
        .get("Item")
    )
    if not item:
        return ignored("no_deployment_requested")
    wanted = item["config_name"]["S"]
    package_arn = item["model_package_arn"]["S"]
    endpoint = describe_endpoint(settings) or {}
    running = endpoint.get("EndpointConfigName", "")
    if detail.status == "IN_SERVICE" and running == wanted:
        return _went_live(settings, package_arn, wanted)
    kind = "deployment_failed" if detail.status == "FAILED" else "rolled_back"
    count("DeploymentNotLive", reason=kind)
    notify(
        settings.topic_arn,
        f"Deployment {kind.replace('_', ' ')}: {settings.endpoint_name}",
        {
            "kind": kind,
            "endpoint_name": settings.endpoint_name,
            "requested_config": wanted,
            "running_config": running,
            "model_package_arn": package_arn,
            "failure_reason": endpoint.get("FailureReason", detail.failure_reason),
        },
    )
    return {"status": kind, "requested_config": wanted, "running_config": running}


def _went_live(settings: DeploySettings, package_arn: str, config_name: str) -> dict[str, Any]:
    previous = read_live(settings)
    if previous and previous.get("endpoint_config_name") == config_name:
        return {"status": "live", "model_package_arn": package_arn}  # redelivered event
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
        "deployed_at": now_iso(),
        "endpoint_config_name": config_name,
        "previous_model_package_arn": (previous or {}).get("model_package_arn"),
    }
    client("s3").put_object(
        Bucket=settings.artifacts_bucket,
        Key=f"live/{settings.endpoint_name}.json",
        Body=json.dumps(record, indent=2).encode(),
        ContentType="application/json",
    )
    count("DeploymentLive")
    notify(
        settings.topic_arn,
        f"Model v{record['model_package_version']} live on {settings.endpoint_name}",
        {"kind": "deployed", **record},
    )
    return {"status": "live", "model_package_arn": package_arn}
