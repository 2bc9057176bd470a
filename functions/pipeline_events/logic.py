"""A training run reached a terminal status: release, follow up, notify."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from functions.pipeline_events.registry import metrics_of, package_of_execution
from functions.shared.clients import client
from functions.shared.notify import notify, region_of, registry_link
from functions.shared.observability import count, logger
from functions.shared.outcomes import ignored
from functions.shared.runs import drain_and_start
from functions.shared.settings import PipelineEventsSettings
from functions.shared.training import (
    TERMINAL_STATUSES,
    Trigger,
    acquire_guard,
    make_token,
    release_guard,
)


def on_execution_status(
    *, execution_arn: str, status: str, event_id: str, settings: PipelineEventsSettings
) -> dict[str, Any]:
    if status not in TERMINAL_STATUSES:
        return ignored("not_terminal", status=status, execution_arn=execution_arn)
    released = release_guard(settings, execution_arn=execution_arn)
    logger.info(
        "training run ended",
        extra={"execution_arn": execution_arn, "status": status, "guard_released": released},
    )
    count(f"TrainingRun{status}")
    follow_up = start_follow_up(execution_arn, event_id, settings)
    if status == "Succeeded":
        notify_pending_approval(execution_arn, settings)
    else:
        notify_failure(execution_arn, status, settings)
    return {
        "status": status,
        "guard_released": released,
        "follow_up_execution_arn": follow_up,
    }


def start_follow_up(
    execution_arn: str, event_id: str, settings: PipelineEventsSettings
) -> str | None:
    """One run for every arrival coalesced while `execution_arn` was in flight, if any."""
    # Derived from the ended execution: a redelivered status event reuses the same token.
    token = make_token("followup", execution_arn)
    if not acquire_guard(settings, token):
        logger.info("follow-up not started: another run holds the guard")
        return None
    follow_up = drain_and_start(
        settings,
        token=token,
        trigger=Trigger(event_id=event_id, event_type="coalesced"),
        description=f"coalesced arrivals after {execution_arn.rsplit('/', 1)[-1]}",
        allow_empty=False,
    )
    if follow_up:
        count("FollowUpStarted")
    return follow_up


def notify_pending_approval(execution_arn: str, settings: PipelineEventsSettings) -> None:
    package = package_of_execution(settings.model_package_group_name, execution_arn)
    if package is None:
        # The Condition step decided not to register: nothing to approve.
        logger.info("run registered no model", extra={"execution_arn": execution_arn})
        count("RunWithoutModel")
        return
    if package.get("ModelApprovalStatus") != "PendingManualApproval":
        return
    region = region_of(package["ModelPackageArn"])
    version = package.get("ModelPackageVersion", package["ModelPackageArn"].rsplit("/", 1)[-1])
    notify(
        settings.topic_arn,
        f"Model {settings.model_package_group_name} v{version} waits for approval",
        {
            "kind": "pending_approval",
            "model_package_arn": package["ModelPackageArn"],
            "model_package_version": version,
            "registry_link": registry_link(region, settings.model_package_group_name, version),
            "approve_with": (
                "aws sagemaker update-model-package --model-package-arn "
                f"{package['ModelPackageArn']} --model-approval-status Approved"
            ),
            "metrics": metrics_of(package),
            "pipeline_execution_arn": execution_arn,
        },
    )


def notify_failure(execution_arn: str, status: str, settings: PipelineEventsSettings) -> None:
    sagemaker = client("sagemaker")
    described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    failed_steps: list[dict[str, str]] = []
    try:
        steps = sagemaker.list_pipeline_execution_steps(
            PipelineExecutionArn=execution_arn, SortOrder="Descending", MaxResults=50
        )["PipelineExecutionSteps"]
        failed_steps = [
            {"step": s["StepName"], "reason": s.get("FailureReason", "")}
            for s in steps
            if s.get("StepStatus") == "Failed"
        ]
    except ClientError as exc:  # the notification matters more than its detail
        logger.warning("could not list execution steps", extra={"error": str(exc)})
    notify(
        settings.topic_arn,
        f"Training run {status.lower()}: {execution_arn.rsplit('/', 1)[-1]}",
        {
            "kind": f"training_{status.lower()}",
            "pipeline_execution_arn": execution_arn,
            "status": status,
            "failure_reason": described.get("FailureReason", ""),
            "failed_steps": failed_steps,
        },
    )
