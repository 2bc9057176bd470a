"""Bring the endpoint to the decision in force, one step per call.

Called after every decision and every settled endpoint event. A busy endpoint is left alone: the
event SageMaker sends when it settles calls this again, and the decision waits in the state
table meanwhile (a blue/green update takes 15-25 minutes, longer than Lambda's async retries,
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). Each step
is safe to repeat: names derive from the package version, outcomes are recorded once.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from functions.deploy.live import (
    read_live,
    record_nothing_serves,
    record_serving,
    serving_package,
)
from functions.deploy.resources import (
    BUSY,
    busy,
    create_endpoint,
    create_endpoint_config,
    create_model,
    delete_endpoint,
    describe_endpoint,
    resource_name,
    update_endpoint,
)
from functions.deploy.state import (
    REQUESTED,
    SETTLED_OUTCOMES,
    Attempt,
    Decision,
    DeployState,
    read_state,
    record_attempt,
    settle_attempt,
)
from functions.shared.clients import client
from functions.shared.notify import notify
from functions.shared.observability import count, logger
from functions.shared.settings import DeploySettings

# Both the update and the automatic rollback failed: the endpoint serves, with a mix of
# configs, until another UpdateEndpoint (https://docs.aws.amazon.com/sagemaker/latest/dg/
# deployment-guardrails-troubleshoot.html).
MIXED = "UpdateRollbackFailed"
DELETE_WAIT_SECONDS = 60


def _tell(settings: DeploySettings, kind: str, subject: str, **fields: Any) -> None:
    count("DeploymentNotLive" if kind != "deployed" else "DeploymentLive", reason=kind)
    notify(
        settings.topic_arn,
        f"{subject}: {settings.endpoint_name}",
        {"kind": kind, "endpoint_name": settings.endpoint_name, **fields},
    )


def _serving(endpoint: dict[str, Any] | None) -> str | None:
    """The config the endpoint serves, if it serves one."""
    endpoint = endpoint or {}
    serves = endpoint.get("EndpointStatus") in ("InService", MIXED)
    return endpoint.get("EndpointConfigName") if serves else None


def _follow_serving(
    settings: DeploySettings, current: DeployState, endpoint: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Keep the live record equal to what serves; returns the record now in force."""
    serving = _serving(endpoint)
    record = read_live(settings)
    if serving is None or (record or {}).get("endpoint_config_name") == serving:
        return record
    package_arn = current.packages.get(serving)
    if package_arn is None:
        logger.warning("serving config has no known package", extra={"config_name": serving})
        return record
    new = record_serving(
        settings, package_arn, serving, record, since=(endpoint or {}).get("LastModifiedTime")
    )
    _tell(
        settings,
        "deployed",
        f"Model v{new['model_package_version']} live",
        **{k: v for k, v in new.items() if k != "endpoint_name"},
    )
    return new


def converge(settings: DeploySettings) -> dict[str, Any]:
    current = read_state(settings)
    decision = current.decision
    if decision is None:
        return {"status": "no_decision"}
    endpoint = describe_endpoint(settings)
    status = (endpoint or {}).get("EndpointStatus")
    if status in BUSY:
        logger.info("endpoint busy: decision waits", extra={"endpoint_status": status})
        return {"status": "pending", "endpoint_status": status}
    serving = _serving(endpoint)
    record = _follow_serving(settings, current, endpoint)
    attempt = current.attempt

    if decision.package_arn is None:
        return _take_down(settings, current, endpoint, record)

    want = resource_name(settings, decision.version if decision.version is not None else 0)
    same_attempt = (
        attempt is not None
        and attempt.config_name == want
        and attempt.decided_at == decision.decided_at
    )
    if serving == want and status == "InService":
        if same_attempt and attempt.outcome == REQUESTED:
            settle_attempt(settings, attempt, "live")
        return {"status": "live", "model_package_arn": decision.package_arn, "config": want}
    if same_attempt and attempt.outcome == REQUESTED:
        # SageMaker settled without serving what was asked: rolled back, or failed.
        return _not_live(settings, decision, attempt, endpoint or {}, serving)
    if same_attempt and attempt.outcome in SETTLED_OUTCOMES:
        return {"status": attempt.outcome, "requested_config": want, "running_config": serving}

    create_model(settings, want, _package(decision.package_arn))
    create_endpoint_config(settings, want)
    try:
        if endpoint is None:
            create_endpoint(settings, want)
            action = "created"
        elif status == "Failed":
            # SageMaker cannot update a failed endpoint: delete it and create it anew.
            if not delete_endpoint(settings, wait_seconds=DELETE_WAIT_SECONDS):
                return {"status": "pending", "endpoint_status": "Deleting"}
            create_endpoint(settings, want)
            action = "recreated"
        else:
            update_endpoint(settings, want, replaces_rejected=decision.replaces_rejected)
            action = "updating"
    except ClientError as exc:
        if not busy(exc):
            raise
        logger.info("endpoint became busy: decision waits", extra={"config_name": want})
        return {"status": "pending"}
    record_attempt(settings, want, decision.package_arn, decision.decided_at)
    logger.info(
        "deployment requested",
        extra={
            "model_package_arn": decision.package_arn,
            "endpoint_config_name": want,
            "action": action,
            "replaces_rejected": decision.replaces_rejected,
        },
    )
    count("DeploymentRequested", reason=action)
    return {
        "status": action,
        "endpoint_config_name": want,
        "model_package_arn": decision.package_arn,
    }


def _package(package_arn: str) -> dict[str, Any]:
    return client("sagemaker").describe_model_package(ModelPackageName=package_arn)


def _not_live(
    settings: DeploySettings,
    decision: Decision,
    attempt: Attempt,
    endpoint: dict[str, Any],
    serving: str | None,
) -> dict[str, Any]:
    status = endpoint.get("EndpointStatus")
    if status == "Failed":
        kind, subject = "deployment_failed", "Deployment failed"
    elif status == MIXED:
        kind, subject = "rollback_failed", "Update and its rollback failed (mixed fleet)"
    elif decision.replaces_rejected:
        kind, subject = "rejected_still_serving", "Rejected model could not be replaced"
    else:
        kind, subject = "rolled_back", "Deployment rolled back"
    if settle_attempt(settings, attempt, "failed" if kind != "rolled_back" else "rolled_back"):
        _tell(
            settings,
            kind,
            subject,
            requested_config=attempt.config_name,
            running_config=serving,
            model_package_arn=decision.package_arn,
            failure_reason=endpoint.get("FailureReason", ""),
            action=_advice(kind),
        )
    return {"status": kind, "requested_config": attempt.config_name, "running_config": serving}


def _advice(kind: str) -> str:
    return {
        "deployment_failed": "the endpoint failed; approving a version deletes and recreates it",
        "rollback_failed": "the endpoint serves a mix of configs; approve a version to update it",
        "rejected_still_serving": "the rejected model still serves; delete the endpoint or "
        "approve another version",
        "rolled_back": "the previous model keeps serving; check the rollback alarms",
    }[kind]


def _take_down(
    settings: DeploySettings,
    current: DeployState,
    endpoint: dict[str, Any] | None,
    record: dict[str, Any] | None,
) -> dict[str, Any]:
    """No approved model is left to serve: the rejected one must stop, so delete the endpoint."""
    decision = current.decision
    assert decision is not None
    attempt = current.attempt
    if endpoint is not None:
        if not delete_endpoint(settings, wait_seconds=DELETE_WAIT_SECONDS):
            return {"status": "pending", "endpoint_status": "Deleting"}
        record_attempt(settings, "", None, decision.decided_at)
        attempt = Attempt(config_name="", outcome=REQUESTED, decided_at=decision.decided_at)
    if serving_package(record) is not None:
        record_nothing_serves(settings, record, "rejected, no other approved version")
    ours = attempt and attempt.config_name == "" and attempt.decided_at == decision.decided_at
    if ours and settle_attempt(settings, attempt, "deleted"):
        _tell(
            settings,
            "endpoint_deleted",
            "Rejected model taken out of service, endpoint deleted",
            model_package_arn=serving_package(record),
            action="approve a version to deploy it on a new endpoint",
        )
    return {"status": "deleted"}
