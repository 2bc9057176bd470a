"""What moto lacks, supplied by wrapping its in-process backends (undone on `MotoPatches.stop`).

moto runs in this process (ThreadedMotoServer), so its backend classes can be wrapped: every
client — the handlers, the step processes, the user's `aws --endpoint-url` — goes through them.

- `StartPipelineExecution` records the execution in moto as `Executing` and hands it to the
  pipeline executor (moto alone marks it `Succeeded` at once and runs nothing).
- `CreateEndpoint` / `UpdateEndpoint` go to the endpoint host. moto has no `UpdateEndpoint`: its
  response layer dispatches an action to the response-class method of the same snake_case name
  (`BaseResponse.call_action` looks the name up on the class at each request), so adding
  `update_endpoint` to `SageMakerResponse` (and the backend) routes it. Same for
  `ListPipelineExecutionSteps`.
- `CreateModelPackage` / `UpdateModelPackage` emit `SageMaker Model Package State Change` when the
  approval status is set or changes; that is how a Studio-style approval reaches the deploy Lambda.
  moto's update also drops `CustomerMetadataProperties` that the request does not repeat; SageMaker
  merges them, so the wrapper keeps the old ones (the lineage lives there).
- S3 notifications: see `emulator.s3_events`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from unittest import mock

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from emulator import s3_events
from emulator.aws_events import aws_event, iso

if TYPE_CHECKING:
    from emulator.server import LocalCloud


def record_endpoint_state(
    endpoint: Any,
    status: str,
    *,
    config_name: str | None = None,
    config: Any = None,
    failure_reason: str | None = None,
) -> None:
    """Make moto's endpoint record say what serves: the config's variants and capture, if given."""
    if config is not None:
        endpoint.endpoint_config_name = config_name
        endpoint.production_variants = endpoint._process_production_variants(
            config.production_variants
        )
        endpoint.data_capture_config = config.data_capture_config
    endpoint.endpoint_status = status
    endpoint.failure_reason = failure_reason
    endpoint.last_modified_time = dt.datetime.now(dt.UTC)


def model_package_event(backend: SageMakerModelBackend, arn: str) -> dict[str, Any]:
    package = backend.describe_model_package(arn).gen_response_object()
    detail = iso(package)
    return aws_event(
        source="aws.sagemaker",
        detail_type="SageMaker Model Package State Change",
        account=backend.account_id,
        region=backend.region_name,
        resources=[package["ModelPackageArn"]],
        detail=detail,
    )


class MotoPatches:
    """The wrappers of one LocalCloud; they read its hooks at call time, so hooks can change."""

    def __init__(self, cloud: LocalCloud) -> None:
        self._cloud = cloud
        self._stack = contextlib.ExitStack()

    def start(self) -> None:
        cloud = self._cloud
        backend_cls = SageMakerModelBackend
        originals = {
            name: getattr(backend_cls, name)
            for name in (
                "start_pipeline_execution",
                "create_endpoint",
                "update_model_package",
                "create_model_package",
            )
        }

        def start_pipeline_execution(self: SageMakerModelBackend, *args: Any, **kwargs: Any):
            result = originals["start_pipeline_execution"](self, *args, **kwargs)
            hook = cloud.on_start_pipeline_execution
            if hook is not None:
                arn = result["PipelineExecutionArn"]
                pipeline = next(p for p in self.pipelines.values() if arn in p.pipeline_executions)
                pipeline_name = pipeline.pipeline_name
                execution = pipeline.pipeline_executions[arn]
                # The executor owns the status from here; moto's "Succeeded" would be a lie.
                execution.pipeline_execution_status = "Executing"
                parameters = {
                    p["Name"]: str(p["Value"]) for p in (execution.pipeline_parameters or [])
                }
                hook(pipeline_name, arn, parameters)
            return result

        def create_endpoint(self: SageMakerModelBackend, *args: Any, **kwargs: Any):
            endpoint = originals["create_endpoint"](self, *args, **kwargs)
            hook = cloud.on_endpoint_change
            if hook is not None:
                # The endpoint host reports InService (or Failed) once the model serves.
                endpoint.endpoint_status = "Creating"
                hook(endpoint.endpoint_name, endpoint.endpoint_config_name, None)
            return endpoint

        def update_endpoint(
            self: SageMakerModelBackend,
            endpoint_name: str,
            endpoint_config_name: str,
            deployment_config: dict[str, Any] | None,
        ) -> str:
            endpoint = self.endpoints.get(endpoint_name)
            if endpoint is None:
                raise ValidationError(message=f"Could not find endpoint '{endpoint_name}'.")
            if endpoint_config_name not in self.endpoint_configs:
                raise ValidationError(
                    message=f"Could not find endpoint configuration '{endpoint_config_name}'."
                )
            if endpoint.endpoint_status not in ("InService", "Failed"):
                raise ValidationError(
                    message=f"Cannot update in-progress endpoint '{endpoint.arn}'."
                )
            hook = cloud.on_endpoint_change
            if hook is None:
                # No host: apply at once, as moto does for CreateEndpoint.
                cloud.set_endpoint_state(endpoint_name, "InService", endpoint_config_name)
            else:
                # Until the host finishes, DescribeEndpoint shows the running config (as AWS).
                endpoint.endpoint_status = "Updating"
                hook(endpoint_name, endpoint_config_name, deployment_config)
            return endpoint.arn

        def list_pipeline_execution_steps(
            self: SageMakerModelBackend, pipeline_execution_arn: str
        ) -> list[dict[str, Any]]:
            hook = cloud.on_list_pipeline_execution_steps
            return [] if hook is None else hook(pipeline_execution_arn)

        def update_model_package(self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> str:
            arn = kwargs["model_package_arn"]
            before = self.model_packages.get(self.model_package_name_mapping.get(arn, arn))
            old_status = before.model_approval_status if before else None
            old_props = dict(before.customer_metadata_properties or {}) if before else {}
            result = originals["update_model_package"](self, *args, **kwargs)
            package = self.model_packages[result]
            merged = {**old_props, **(kwargs.get("customer_metadata_properties") or {})}
            for name in kwargs.get("customer_metadata_properties_to_remove") or []:
                merged.pop(name, None)
            package.customer_metadata_properties = merged or None
            if package.model_approval_status != old_status:
                cloud.emit_event(model_package_event(self, result))
            return result

        def create_model_package(self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> str:
            arn = originals["create_model_package"](self, *args, **kwargs)
            cloud.emit_event(model_package_event(self, arn))
            return arn

        def respond_update_endpoint(response: SageMakerResponse) -> ActionResult:
            arn = response.sagemaker_backend.update_endpoint(
                endpoint_name=response._get_param("EndpointName"),
                endpoint_config_name=response._get_param("EndpointConfigName"),
                deployment_config=response._get_param("DeploymentConfig"),
            )
            return ActionResult({"EndpointArn": arn})

        def respond_list_steps(response: SageMakerResponse) -> ActionResult:
            steps = response.sagemaker_backend.list_pipeline_execution_steps(
                response._get_param("PipelineExecutionArn")
            )
            return ActionResult({"PipelineExecutionSteps": steps})

        patches: list[tuple[type, str, Callable[..., Any]]] = [
            (backend_cls, "start_pipeline_execution", start_pipeline_execution),
            (backend_cls, "create_endpoint", create_endpoint),
            (backend_cls, "update_endpoint", update_endpoint),
            (backend_cls, "list_pipeline_execution_steps", list_pipeline_execution_steps),
            (backend_cls, "update_model_package", update_model_package),
            (backend_cls, "create_model_package", create_model_package),
            (SageMakerResponse, "update_endpoint", respond_update_endpoint),
            (SageMakerResponse, "list_pipeline_execution_steps", respond_list_steps),
        ]
        for owner, name, replacement in patches:
            self._stack.enter_context(mock.patch.object(owner, name, replacement, create=True))
        self._stack.enter_context(s3_events.patched(cloud.emit_event))

    def stop(self) -> None:
        self._stack.close()
