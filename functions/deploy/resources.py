"""SageMaker Model / EndpointConfig / Endpoint requests for one model package version."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, WaiterError

from functions.deploy.traffic import blue_green_policy, replacement_policy
from functions.shared.clients import client
from functions.shared.observability import logger
from functions.shared.settings import DeploySettings

VARIANT = "AllTraffic"
BUSY = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
DELETE_POLL_SECONDS = 5


def resource_name(settings: DeploySettings, version: int | str) -> str:
    """Model and config name of a package version: the same version always gets the same name,
    so a redelivered or repeated event reuses it instead of creating a duplicate. At most 63
    characters, as SageMaker requires."""
    suffix = f"-v{version}"
    return settings.endpoint_name[: 63 - len(suffix)].rstrip("-") + suffix


def _already_exists(exc: ClientError) -> bool:
    message = exc.response["Error"].get("Message", "")
    return exc.response["Error"]["Code"] in ("ValidationException", "ResourceInUse") and (
        "already exist" in message
    )


def create_model(settings: DeploySettings, name: str, package: dict[str, Any]) -> None:
    container = package["InferenceSpecification"]["Containers"][0]
    primary: dict[str, Any] = {"Image": container["Image"]}
    if container.get("ModelDataUrl"):
        primary["ModelDataUrl"] = container["ModelDataUrl"]
    # The sklearn container finds the inference script through SAGEMAKER_PROGRAM and
    # SAGEMAKER_SUBMIT_DIRECTORY; the package carries them when the pipeline set them.
    if container.get("Environment"):
        primary["Environment"] = dict(container["Environment"])
    try:
        # The model runs with its own role, and without network access: the serving code and
        # the model ship in model.tar.gz, which SageMaker downloads before the container starts.
        client("sagemaker").create_model(
            ModelName=name,
            PrimaryContainer=primary,
            ExecutionRoleArn=settings.model_role_arn,
            EnableNetworkIsolation=True,
        )
    except ClientError as exc:
        if not _already_exists(exc):
            raise
        logger.info("model already exists", extra={"model_name": name})


def create_endpoint_config(settings: DeploySettings, name: str) -> None:
    capture: dict[str, Any] = {
        "EnableCapture": True,
        "InitialSamplingPercentage": settings.capture_sampling_percent,
        "DestinationS3Uri": settings.capture_s3_uri,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json"],
        },
    }
    if settings.capture_kms_key_arn:
        capture["KmsKeyId"] = settings.capture_kms_key_arn
    try:
        client("sagemaker").create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": VARIANT,
                    "ModelName": name,
                    "InitialInstanceCount": settings.inference_instance_count,
                    "InstanceType": settings.inference_instance_type,
                    "InitialVariantWeight": 1.0,
                }
            ],
            DataCaptureConfig=capture,
        )
    except ClientError as exc:
        if not _already_exists(exc):
            raise
        logger.info("endpoint config already exists", extra={"endpoint_config_name": name})


def describe_endpoint(settings: DeploySettings) -> dict[str, Any] | None:
    try:
        return client("sagemaker").describe_endpoint(EndpointName=settings.endpoint_name)
    except ClientError as exc:
        if "Could not find endpoint" in exc.response["Error"].get("Message", ""):
            return None
        raise


def deployment_config(settings: DeploySettings, *, replaces_rejected: bool) -> dict[str, Any]:
    """Blue/green with the rollback alarms; taking a rejected model out uses no alarms, so an
    alarm already in ALARM cannot roll the replacement back onto the rejected model."""
    if replaces_rejected:
        return {"BlueGreenUpdatePolicy": replacement_policy()}
    return {
        "BlueGreenUpdatePolicy": blue_green_policy(
            instance_count=settings.inference_instance_count,
            canary_percent=settings.canary_percent,
            wait_seconds=settings.canary_wait_seconds,
            termination_wait_seconds=settings.termination_wait_seconds,
        ),
        "AutoRollbackConfiguration": {
            "Alarms": [{"AlarmName": name} for name in settings.rollback_alarm_names]
        },
    }


def busy(exc: ClientError) -> bool:
    """SageMaker refused because the endpoint is being created, updated or deleted."""
    message = exc.response["Error"].get("Message", "")
    return exc.response["Error"]["Code"] == "ValidationException" and (
        "in-progress" in message or "already existing endpoint" in message
    )


def create_endpoint(settings: DeploySettings, config_name: str) -> None:
    client("sagemaker").create_endpoint(
        EndpointName=settings.endpoint_name, EndpointConfigName=config_name
    )


def update_endpoint(settings: DeploySettings, config_name: str, *, replaces_rejected: bool) -> None:
    client("sagemaker").update_endpoint(
        EndpointName=settings.endpoint_name,
        EndpointConfigName=config_name,
        DeploymentConfig=deployment_config(settings, replaces_rejected=replaces_rejected),
        RetainAllVariantProperties=False,
    )


def delete_endpoint(settings: DeploySettings, *, wait_seconds: int) -> bool:
    """Delete the endpoint; True once it is gone within `wait_seconds` (botocore's waiter)."""
    sagemaker = client("sagemaker")
    sagemaker.delete_endpoint(EndpointName=settings.endpoint_name)
    attempts = max(1, wait_seconds // DELETE_POLL_SECONDS)
    try:
        sagemaker.get_waiter("endpoint_deleted").wait(
            EndpointName=settings.endpoint_name,
            WaiterConfig={"Delay": DELETE_POLL_SECONDS, "MaxAttempts": attempts},
        )
    except WaiterError:
        return False
    return True
