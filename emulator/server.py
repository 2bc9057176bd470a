"""`LocalCloud`: one in-process moto server on 127.0.0.1 and the hooks that supply what it lacks.

moto's backends are process-wide, so one LocalCloud may run per process at a time; starting one
resets moto, so each run begins empty. The hooks are plain attributes, read at call time:

- `on_start_pipeline_execution(pipeline_name, execution_arn, parameters)` — a pipeline started
  (by any client); `parameters` holds only the overrides the caller passed.
- `on_endpoint_change(endpoint_name, endpoint_config_name, deployment_config)` — CreateEndpoint
  (`deployment_config` None) or UpdateEndpoint; the endpoint is left `Creating`/`Updating` for
  the host, which settles it with `set_endpoint_state`.
- `on_list_pipeline_execution_steps(execution_arn) -> list[dict]` — ListPipelineExecutionSteps.
- `emit(event)` — where AWS-shaped events produced inside moto go (S3 objects, model packages);
  until it is set they are buffered, never dropped.

Hooks run in moto's request thread: they must return quickly (start work in a thread).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import urllib.request
from collections.abc import Callable
from typing import Any, ClassVar

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends

from emulator.aws_events import aws_event
from emulator.clients import ENV_LOCK, local_client
from emulator.moto_patches import MotoPatches, record_endpoint_state

ACCOUNT = "123456789012"  # moto's default account: ARNs match the sample events
REGION = "us-east-1"

# The variables a Lambda or a step process needs to reach moto instead of AWS.
_REMOVED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


class LocalCloudError(RuntimeError):
    """The local cloud cannot start or was used in a state it does not support."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalCloud:
    _active: ClassVar[LocalCloud | None] = None

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.account = ACCOUNT
        self.region = REGION
        self.on_start_pipeline_execution: Callable[[str, str, dict[str, str]], None] | None = None
        self.on_endpoint_change: Callable[[str, str, dict[str, Any] | None], None] | None = None
        self.on_list_pipeline_execution_steps: Callable[[str], list[dict[str, Any]]] | None = None
        self._emit: Callable[[dict[str, Any]], None] | None = None
        self._buffer: list[dict[str, Any]] = []
        self._emit_lock = threading.Lock()
        self._server: ThreadedMotoServer | None = None
        self._patches = MotoPatches(self)
        self._saved_env: dict[str, str | None] = {}
        self._werkzeug_level = logging.NOTSET

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """What every process of the runtime needs in its environment to use this cloud."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalCloud:
        if LocalCloud._active is not None:
            raise LocalCloudError(
                f"a LocalCloud already runs at {LocalCloud._active.endpoint_url}: moto's state "
                "is process-wide, stop it first"
            )
        LocalCloud._active = self
        try:
            self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
            # Werkzeug logs every request at INFO; the runtime's own timeline is the record.
            self._werkzeug_level = logging.getLogger("werkzeug").level
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            self._server.start()
            self._set_env()
            request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
            urllib.request.urlopen(request, timeout=10).close()
            self._patches.start()
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._patches.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None
            logging.getLogger("werkzeug").setLevel(self._werkzeug_level)
        with ENV_LOCK:
            for name, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        self._saved_env = {}
        if LocalCloud._active is self:
            LocalCloud._active = None

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _set_env(self) -> None:
        with ENV_LOCK:
            for name in (*self.env, *_REMOVED):
                self._saved_env[name] = os.environ.get(name)
            for name in _REMOVED:
                os.environ.pop(name, None)
            os.environ.update(self.env)

    # -- clients and events ----------------------------------------------------------------

    def client(self, service: str) -> Any:
        return local_client(service, endpoint_url=self.endpoint_url, region=self.region)

    @property
    def emit(self) -> Callable[[dict[str, Any]], None] | None:
        return self._emit

    @emit.setter
    def emit(self, sink: Callable[[dict[str, Any]], None] | None) -> None:
        with self._emit_lock:
            self._emit = sink
            pending, self._buffer = (self._buffer, []) if sink else ([], self._buffer)
        for event in pending:
            sink(event)  # type: ignore[misc]

    def emit_event(self, event: dict[str, Any]) -> None:
        with self._emit_lock:
            sink = self._emit
            if sink is None:
                self._buffer.append(event)
                return
        sink(event)

    def use_executor(self, executor: Any) -> None:
        """Route pipeline starts and step listings to a `PipelineExecutor`."""

        def start(pipeline_name: str, execution_arn: str, parameters: dict[str, str]) -> None:
            pipeline = self.sagemaker_backend.describe_pipeline(pipeline_name)
            executor.start(
                pipeline_arn=pipeline["PipelineArn"],
                execution_arn=execution_arn,
                definition=json.loads(pipeline["PipelineDefinition"]),
                parameters=parameters,
            )

        self.on_start_pipeline_execution = start
        self.on_list_pipeline_execution_steps = executor.steps

    def use_endpoint_host(self, host: Any) -> None:
        """Route CreateEndpoint/UpdateEndpoint to an `EndpointHost`."""

        def change(name: str, config: str, deployment_config: dict[str, Any] | None) -> None:
            host.apply(
                endpoint_name=name,
                endpoint_config_name=config,
                deployment_config=deployment_config,
            )

        self.on_endpoint_change = change

    # -- state moto keeps, set by the parts that run things --------------------------------

    @property
    def sagemaker_backend(self) -> SageMakerModelBackend:
        return sagemaker_backends[self.account][self.region]

    def set_pipeline_execution_status(
        self, execution_arn: str, status: str, failure_reason: str | None = None
    ) -> None:
        for pipeline in self.sagemaker_backend.pipelines.values():
            execution = pipeline.pipeline_executions.get(execution_arn)
            if execution is not None:
                execution.pipeline_execution_status = status
                execution.pipeline_execution_failure_reason = failure_reason
                execution.last_modified_time = dt.datetime.now(dt.UTC)
                return
        raise LocalCloudError(f"no pipeline execution {execution_arn} in moto")

    def set_endpoint_state(
        self,
        endpoint_name: str,
        status: str,
        endpoint_config_name: str | None = None,
        *,
        failure_reason: str | None = None,
        emit: bool = False,
    ) -> None:
        """Settle an endpoint (InService/Failed/...); with `emit`, send its state change event."""
        backend = self.sagemaker_backend
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is None:
            raise LocalCloudError(f"no endpoint {endpoint_name} in moto")
        config = None
        if endpoint_config_name is not None:
            config = backend.endpoint_configs.get(endpoint_config_name)
            if config is None:
                raise LocalCloudError(f"no endpoint config {endpoint_config_name} in moto")
        record_endpoint_state(
            endpoint,
            status,
            config_name=endpoint_config_name,
            config=config,
            failure_reason=failure_reason,
        )
        if emit:
            self.emit_event(self.endpoint_event(endpoint_name))

    def endpoint_event(self, endpoint_name: str) -> dict[str, Any]:
        """`SageMaker Endpoint State Change` for the endpoint's current state, AWS shape."""
        endpoint = self.sagemaker_backend.endpoints[endpoint_name]

        def millis(value: dt.datetime) -> int:
            return int(value.replace(tzinfo=value.tzinfo or dt.UTC).timestamp() * 1000)

        detail: dict[str, Any] = {
            "EndpointName": endpoint.endpoint_name,
            "EndpointArn": endpoint.arn,
            "EndpointConfigName": endpoint.endpoint_config_name,
            "ProductionVariants": endpoint.production_variants,
            # Events spell statuses IN_SERVICE where the API says InService.
            "EndpointStatus": _event_status(endpoint.endpoint_status),
            "CreationTime": millis(endpoint.creation_time),
            "LastModifiedTime": millis(endpoint.last_modified_time),
            "Tags": {t["Key"]: t["Value"] for t in endpoint.tags or []},
        }
        if endpoint.failure_reason:
            detail["FailureReason"] = endpoint.failure_reason
        return aws_event(
            source="aws.sagemaker",
            detail_type="SageMaker Endpoint State Change",
            account=self.account,
            region=self.region,
            resources=[endpoint.arn],
            detail=detail,
        )


def _event_status(status: str) -> str:
    out = "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(status))
    return out.upper()
