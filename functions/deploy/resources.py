"""SageMaker Model / EndpointConfig / Endpoint requests for one model package version."""

from __future__ import annotations

import hashlib
from typing import Any

from botocore.exceptions import ClientError

from functions.shared.clients import client
from functions.shared.observability import logger
from functions.shared.settings import DeploySettings

VARIANT = "AllTraffic"
BUSY = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})


def resource_name(settings: DeploySettings, version: int | str, event_id: str) -> str:
    """Model and config name: from the package version and the event, so a retried event
    reuses it instead of creating a duplicate. At most 63 characters, as SageMaker requires."""
    digest = hashlib.sha256(event_id.encode()).hexdigest()[:8]
    suffix = f"-v{version}-{digest}"
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


def deployment_config(settings: DeploySettings) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": settings.canary_percent},
                "WaitIntervalInSeconds": settings.canary_wait_seconds,
            },
            "TerminationWaitInSeconds": settings.termination_wait_seconds,
            "MaximumExecutionTimeoutInSeconds": settings.max_execution_timeout_seconds,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [{"AlarmName": name} for name in settings.rollback_alarm_names]
        },
    }


def point_endpoint_at(settings: DeploySettings, config_name: str) -> str:
    """Create the endpoint, or shift it to `config_name` by canary. Returns what was done."""
    endpoint = describe_endpoint(settings)
    sagemaker = client("sagemaker")
    if endpoint is None:
        sagemaker.create_endpoint(
            EndpointName=settings.endpoint_name, EndpointConfigName=config_name
        )
        return "created"
    if endpoint.get("EndpointConfigName") == config_name:
        return "unchanged"
    if endpoint.get("EndpointStatus") in BUSY:
        # SageMaker refuses updates while one runs; failing lets the async retries try later.
        raise RuntimeError(f"endpoint {settings.endpoint_name} is {endpoint['EndpointStatus']}")
    sagemaker.update_endpoint(
        EndpointName=settings.endpoint_name,
        EndpointConfigName=config_name,
        DeploymentConfig=deployment_config(settings),
        RetainAllVariantProperties=False,
    )
    return "updating"
