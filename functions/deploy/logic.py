"""Registry decisions -> the state table -> the endpoint; endpoint events -> converge again.

A decision is read from the registry, not from the event: the event may be a redelivery, or a
later decision may already have replaced it. The decision's time is the package's
LastModifiedTime, so of two decisions the later one wins whatever order their events arrive in.
Approving a version makes it the target. Rejecting the version that serves or is about to
makes the newest other approved version the target (deployed without rollback alarms), or,
when there is none, takes the endpoint down. Monitoring runs only while a model serves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from functions.deploy.converge import converge
from functions.deploy.live import read_live, serving_package
from functions.deploy.resources import describe_endpoint
from functions.deploy.state import Decision, put_decision, read_state
from functions.shared.clients import client
from functions.shared.events import EndpointEvent, ModelPackageEvent, ScheduledEvent
from functions.shared.observability import count, logger
from functions.shared.outcomes import ignored
from functions.shared.settings import DeploySettings
from functions.shared.training import make_token

DECISIONS = ("Approved", "Rejected")
# Endpoint statuses after which the endpoint accepts a new request (see the endpoint rule).
SETTLED = ("IN_SERVICE", "FAILED", "UPDATE_ROLLBACK_FAILED")


def _decided_at(package: dict[str, Any]) -> str:
    moment = package.get("LastModifiedTime") or package.get("CreationTime")
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).isoformat(timespec="microseconds")
    return datetime.fromisoformat(str(moment)).astimezone(UTC).isoformat(timespec="microseconds")


def on_package_change(event: ModelPackageEvent, settings: DeploySettings) -> dict[str, Any]:
    detail = event.detail
    if detail.group != settings.model_package_group_name:
        return ignored("other_group", group=detail.group)
    if detail.updated_fields is not None and "ModelApprovalStatus" not in detail.updated_fields:
        return ignored("not_an_approval_change", updated_fields=detail.updated_fields)
    if detail.approval_status not in DECISIONS:
        return ignored("not_approved", approval_status=detail.approval_status)
    package = client("sagemaker").describe_model_package(ModelPackageName=detail.arn)
    status = package.get("ModelApprovalStatus")
    if status not in DECISIONS:
        return ignored("no_longer_decided", model_package_arn=detail.arn, approval_status=status)
    decided_at = _decided_at(package)
    if status == "Approved":
        decision = Decision(
            decided_at, detail.arn, package.get("ModelPackageVersion"), False, event.id
        )
    else:
        decision = _after_rejection(settings, detail.arn, decided_at, event.id)
        if decision is None:
            return ignored("rejected_not_serving", model_package_arn=detail.arn)
    recorded = put_decision(settings, decision)
    if recorded == "older":
        # A newer decision is in force: an old event redelivered, or one that lost a race.
        return ignored("stale", model_package_arn=detail.arn, decided_at=decided_at)
    if recorded == "same":
        # A redelivery, or the retry of an invocation that failed after recording it: applying
        # it again is safe (converge asks SageMaker only for what is not yet asked).
        return converge(settings)
    logger.info(
        "decision in force",
        extra={"decided_at": decided_at, "target": decision.package_arn, "status": status},
    )
    count("DecisionRecorded", reason=status.lower())
    return converge(settings)


def _after_rejection(
    settings: DeploySettings, rejected: str, decided_at: str, event_id: str
) -> Decision | None:
    """The decision a rejection makes, or None when the rejected version neither serves nor
    is about to (nothing changes)."""
    current = read_state(settings)
    in_force = {serving_package(read_live(settings))}
    if current.decision is not None:
        in_force.add(current.decision.package_arn)
    if rejected not in in_force:
        return None
    replacement = _newest_approved(settings, other_than=rejected)
    if replacement is None:
        return Decision(decided_at, None, None, True, event_id)
    return Decision(
        decided_at,
        replacement["ModelPackageArn"],
        replacement["ModelPackageVersion"],
        True,
        event_id,
    )


def _newest_approved(settings: DeploySettings, *, other_than: str) -> dict[str, Any] | None:
    pages = (
        client("sagemaker")
        .get_paginator("list_model_packages")
        .paginate(
            ModelPackageGroupName=settings.model_package_group_name,
            ModelApprovalStatus="Approved",
            SortBy="CreationTime",
            SortOrder="Descending",
        )
    )
    for page in pages:
        for summary in page["ModelPackageSummaryList"]:
            if summary["ModelPackageArn"] != other_than:
                return summary
    return None


def on_endpoint_status(event: EndpointEvent, settings: DeploySettings) -> dict[str, Any]:
    detail = event.detail
    if detail.endpoint_name != settings.endpoint_name:
        return ignored("other_endpoint", endpoint_name=detail.endpoint_name)
    if detail.status not in SETTLED:
        return ignored("transitional_status", endpoint_status=detail.status)
    outcome = converge(settings)
    if outcome["status"] == "no_decision":
        return ignored("no_deployment_requested")
    return outcome


def on_schedule(event: ScheduledEvent, settings: DeploySettings) -> dict[str, Any]:
    """The monitoring schedule: start the drift pipeline only while a model serves, so no job
    runs (and bills) before the first deployment or after the endpoint was taken down."""
    record = read_live(settings)
    endpoint = describe_endpoint(settings) or {}
    if serving_package(record) is None or endpoint.get("EndpointStatus") is None:
        return ignored("no_model_serves")
    execution = client("sagemaker").start_pipeline_execution(
        PipelineName=settings.monitoring_pipeline_name,
        # One execution per scheduled event, however often EventBridge delivers it.
        ClientRequestToken=make_token("monitor", event.id),
    )
    logger.info("monitoring started", extra={"execution_arn": execution["PipelineExecutionArn"]})
    count("MonitoringStarted")
    return {"status": "monitoring_started", "execution_arn": execution["PipelineExecutionArn"]}
