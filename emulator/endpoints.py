"""SageMaker endpoints, hosted locally: the endpoint API, InvokeEndpoint, capture, metrics and
blue/green updates.

The host owns the endpoint records (moto has no UpdateEndpoint and serves nothing), so
`DescribeEndpoint` always says what really serves. `create` and `update` return at once, as in
AWS (the endpoint is Creating/Updating); a worker loads the endpoint config's models under the
model's own execution role and settles the endpoint. An update with a DeploymentConfig runs the
canary: a share of requests goes to the new fleet for the wait interval while the rollback alarms
are watched; an alarm in ALARM rolls back to the old fleet, silently as AWS does: the endpoint ends
InService on the old config. Every status change is emitted as `SageMaker Endpoint State Change`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulator.aws_events import endpoint_event
from emulator.endpoint_capture import CaptureConfig, CaptureWriter
from emulator.endpoint_models import ContainerError, LoadedModel, load_model
from emulator.front import ServiceError
from emulator.service_rules import deployment_problems

log = logging.getLogger(__name__)

_POLL = 0.2  # seconds between alarm checks during a canary


@dataclass(frozen=True)
class Durations:
    """How long SageMaker takes, in AWS seconds (the host multiplies them by its time scale).
    SageMaker documents no fixed figures; these are typical: instances for a new fleet take
    minutes to provision ("Creating" or the green fleet of an update), a rollback shifts traffic
    back and releases the green fleet. The traffic steps, their bake times and the termination
    wait are the deployment config's own."""

    provision: float = 300.0
    rollback: float = 60.0


MAX_BODY_BYTES = 6 * 1024 * 1024  # InvokeEndpoint's payload limit
BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


@dataclass
class Fleet:
    """One endpoint config's models, ready to serve."""

    config_name: str
    variants: list[tuple[dict[str, Any], LoadedModel]]  # (ProductionVariant, model)
    capture: CaptureConfig | None
    capture_writer: CaptureWriter | None = None


@dataclass
class _Endpoint:
    name: str
    arn: str
    config_name: str  # what DescribeEndpoint shows: the serving config once settled
    created: datetime
    modified: datetime
    tags: dict[str, str]
    status: str = "Creating"
    failure_reason: str | None = None
    pending_config: str | None = None
    last_deployment_config: dict[str, Any] | None = None
    blue: Fleet | None = None
    green: Fleet | None = None
    green_percent: float = 0.0
    requests: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def route(self) -> Fleet | None:
        """Blue or green: exactly green_percent of requests to green, evenly spread."""
        with self.lock:
            n, self.requests = self.requests, self.requests + 1
            if self.green is None:
                return self.blue
            to_green = int((n + 1) * self.green_percent // 100) > int(n * self.green_percent // 100)
            return self.green if to_green else self.blue


def _not_found(name: str, arn: str) -> ServiceError:
    return ServiceError("ValidationException", f'Could not find endpoint "{arn}".')


class EndpointHost:
    def __init__(
        self,
        *,
        cloud: Any,
        scratch_dir: Path,
        emit: Callable[[dict], None],
        alarm_state: Callable[[str], str],
        time_scale: float = 1.0,
        capture_batch: int = 50,
        durations: Durations = Durations(),
    ) -> None:
        self.cloud = cloud
        self.durations = durations
        self._closed = threading.Event()
        self.scratch_dir = Path(scratch_dir).resolve()
        self.emit = emit
        self.alarm_state = alarm_state
        self.time_scale = time_scale
        self.region = cloud.region
        self.account_id = cloud.account
        self._endpoints: dict[str, _Endpoint] = {}
        self._lock = threading.Lock()
        self._capture_batch = capture_batch
        self._writers: list[CaptureWriter] = []

    def _arn(self, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:endpoint/{name.lower()}"

    # -- the SageMaker API ---------------------------------------------------------------

    def create(self, name: str, config_name: str, tags: dict[str, str] | None = None) -> str:
        self._config(config_name)  # unknown configs fail the call, as in AWS
        now = datetime.now(UTC)
        with self._lock:
            if name in self._endpoints:
                arn = self._endpoints[name].arn
                raise ServiceError(
                    "ValidationException", f'Cannot create already existing endpoint "{arn}".'
                )
            endpoint = _Endpoint(name, self._arn(name), config_name, now, now, tags or {})
            self._endpoints[name] = endpoint
        self._publish(endpoint)
        self._start(endpoint, config_name, None)
        return endpoint.arn

    def update(self, name: str, config_name: str, deployment_config: dict | None) -> str:
        endpoint = self._get(name)
        config = self._config(config_name)
        count = sum(int(v.get("InitialInstanceCount", 1)) for v in config["ProductionVariants"][:1])
        problems = deployment_problems(deployment_config, max(count, 1))
        if problems:
            raise ServiceError("ValidationException", "; ".join(problems))
        with self._lock:
            if endpoint.status in BUSY:
                raise ServiceError(
                    "ValidationException", f'Cannot update in-progress endpoint "{endpoint.arn}".'
                )
            if endpoint.status == "Failed":
                # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html:
                # an endpoint that failed to create must be deleted and created again.
                raise ServiceError(
                    "ValidationException",
                    f'Cannot update endpoint "{endpoint.arn}" in status Failed; delete it '
                    "and create it again.",
                )
            endpoint.status, endpoint.failure_reason = "Updating", None
            endpoint.pending_config = config_name
            endpoint.done.clear()
        self._publish(endpoint)
        self._start(endpoint, config_name, deployment_config)
        return endpoint.arn

    def delete(self, name: str) -> None:
        endpoint = self._get(name)
        with self._lock:
            if endpoint.status in ("Creating", "Updating", "Deleting", "RollingBack"):
                raise ServiceError(
                    "ValidationException", f'Cannot delete in-progress endpoint "{endpoint.arn}".'
                )
            endpoint.status = "Deleting"
        self._publish(endpoint)
        with self._lock:
            self._endpoints.pop(name, None)
            endpoint.blue = endpoint.green = None
        endpoint.done.set()

    def describe(self, name: str) -> dict[str, Any]:
        endpoint = self._get(name)
        fleet = endpoint.blue
        out: dict[str, Any] = {
            "EndpointName": endpoint.name,
            "EndpointArn": endpoint.arn,
            "EndpointConfigName": endpoint.config_name,
            "ProductionVariants": _variants(fleet),
            "EndpointStatus": endpoint.status,
            "CreationTime": endpoint.created,
            "LastModifiedTime": endpoint.modified,
        }
        if fleet is not None and fleet.capture is not None:
            out["DataCaptureConfig"] = {
                "EnableCapture": True,
                "CaptureStatus": "Started",
                "CurrentSamplingPercentage": int(fleet.capture.sampling_percent),
                "DestinationS3Uri": fleet.capture.destination,
            }
        if endpoint.failure_reason:
            out["FailureReason"] = endpoint.failure_reason
        if endpoint.last_deployment_config:
            out["LastDeploymentConfig"] = endpoint.last_deployment_config
        if endpoint.pending_config and endpoint.status == "Updating":
            out["PendingDeploymentSummary"] = {
                "EndpointConfigName": endpoint.pending_config,
                "StartTime": endpoint.modified,
            }
        return out

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            endpoints = list(self._endpoints.values())
        return [
            {
                "EndpointName": e.name,
                "EndpointArn": e.arn,
                "CreationTime": e.created,
                "LastModifiedTime": e.modified,
                "EndpointStatus": e.status,
            }
            for e in sorted(endpoints, key=lambda e: e.created, reverse=True)
        ]

    def _get(self, name: str) -> _Endpoint:
        with self._lock:
            endpoint = self._endpoints.get(name)
        if endpoint is None:
            raise _not_found(name, self._arn(name))
        return endpoint

    def _config(self, config_name: str) -> dict[str, Any]:
        sagemaker = self.cloud.client("sagemaker")
        try:
            return sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        except sagemaker.exceptions.ClientError as exc:
            raise ServiceError(
                "ValidationException", f'Could not find endpoint configuration "{config_name}".'
            ) from exc

    # -- what tests and the runtime wait on ------------------------------------------------

    def wait(self, endpoint_name: str, timeout: float) -> str:
        """The endpoint's status once it settles (InService or Failed)."""
        endpoint = self._get(endpoint_name)
        if not endpoint.done.wait(timeout):
            raise TimeoutError(f"endpoint {endpoint_name} still {endpoint.status} after {timeout}s")
        return endpoint.status

    def serving_config(self, endpoint_name: str) -> str | None:
        with self._lock:
            endpoint = self._endpoints.get(endpoint_name)
        return None if endpoint is None or endpoint.blue is None else endpoint.blue.config_name

    def flush(self) -> None:
        """Write every buffered capture record to S3."""
        for writer in list(self._writers):
            writer.flush()

    def close(self) -> None:
        self._closed.set()
        self.flush()

    def _take(self, aws_seconds: float) -> None:
        """Wait as SageMaker would, scaled; cut short when the host closes."""
        self._closed.wait(max(0.0, aws_seconds) * self.time_scale)

    # -- deploying -------------------------------------------------------------------------

    def _start(self, endpoint: _Endpoint, config_name: str, deployment: dict | None) -> None:
        threading.Thread(
            target=self._apply,
            args=(endpoint, config_name, deployment),
            name=f"endpoint-{endpoint.name}",
            daemon=True,
        ).start()

    def _apply(self, endpoint: _Endpoint, config_name: str, deployment: dict | None) -> None:
        self._take(self.durations.provision)
        try:
            fleet = self._load_fleet(endpoint.name, config_name)
        except Exception as exc:  # noqa: BLE001 - any load failure fails this deployment
            log.warning("endpoint %s: %s", endpoint.name, exc)
            reason = f"{type(exc).__name__}: {exc}"
            if endpoint.blue is None:
                self._settle(endpoint, "Failed", config_name, reason)
            else:  # a failed update leaves the old fleet serving
                self._settle(endpoint, "InService", endpoint.blue.config_name, reason)
            return
        if endpoint.blue is None or not deployment:
            endpoint.blue, endpoint.green = fleet, None
            self._settle(endpoint, "InService", config_name, None)
            return
        alarm = self._canary(endpoint, fleet, deployment)
        with endpoint.lock:
            if alarm is None:
                endpoint.blue = fleet
            else:
                endpoint.green_percent = 0.0  # traffic back to blue at once
        if alarm is None:
            policy = deployment.get("BlueGreenUpdatePolicy", {})
            self._take(float(policy.get("TerminationWaitInSeconds", 0)))
        else:
            self._take(self.durations.rollback)
        with endpoint.lock:
            endpoint.green, endpoint.green_percent = None, 0.0
        endpoint.last_deployment_config = deployment
        served = endpoint.blue.config_name  # type: ignore[union-attr]
        reason = None if alarm is None else f"rolled back: alarm {alarm} in ALARM"
        self._settle(endpoint, "InService", served, reason)

    def _canary(self, endpoint: _Endpoint, fleet: Fleet, deployment: dict) -> str | None:
        """Shift traffic stage by stage; the name of the alarm that stopped it, or None."""
        policy = deployment.get("BlueGreenUpdatePolicy", {})
        routing = policy.get("TrafficRoutingConfiguration", {})
        alarms = [
            a["AlarmName"]
            for a in deployment.get("AutoRollbackConfiguration", {}).get("Alarms", [])
        ]
        wait = float(routing.get("WaitIntervalInSeconds", 0)) * self.time_scale
        kind = routing.get("Type", "ALL_AT_ONCE")
        size = routing.get("CanarySize") or routing.get("LinearStepSize") or {}
        percent = float(size.get("Value", 100))
        if size.get("Type") == "INSTANCE_COUNT":
            instances = max(int(fleet.variants[0][0].get("InitialInstanceCount", 1)), 1)
            percent = 100.0 * percent / instances
        if kind == "CANARY":
            stages = [min(percent, 100.0)]
        elif kind == "LINEAR":
            step = max(percent, 1.0)
            stages = [min(step * i, 100.0) for i in range(1, int(100 // step) + 1)]
        else:  # ALL_AT_ONCE: everything to green, then the baking period
            stages = [100.0]
        for share in stages:
            with endpoint.lock:
                endpoint.green, endpoint.green_percent = fleet, share
            alarm = self._watch(alarms, wait)
            if alarm is not None:
                return alarm
        return None

    def _watch(self, alarms: list[str], seconds: float) -> str | None:
        deadline = time.monotonic() + seconds
        while True:
            for name in alarms:
                if self.alarm_state(name) == "ALARM":
                    return name
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(_POLL, remaining))

    def _load_fleet(self, endpoint_name: str, config_name: str) -> Fleet:
        sm = self.cloud.client("sagemaker")
        config = sm.describe_endpoint_config(EndpointConfigName=config_name)
        variants = []
        role = None
        for variant in config["ProductionVariants"]:
            model = sm.describe_model(ModelName=variant["ModelName"])
            container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
            # SageMaker reads the artifact and writes capture as the model's execution role.
            role = self.cloud.assume_role(model["ExecutionRoleArn"], "SageMaker")
            loaded = load_model(
                s3=self.cloud.client("s3", role),
                name=variant["ModelName"],
                container=container,
                scratch=self.scratch_dir / "models",
            )
            variants.append((variant, loaded))
        if not variants:
            raise ValueError(f"endpoint config {config_name} has no production variants")
        capture = CaptureConfig.from_endpoint_config(config)
        fleet = Fleet(config_name, variants, capture)
        if capture is not None:
            writer = CaptureWriter(
                self.cloud.client("s3", role), endpoint_name, self._capture_batch
            )
            fleet.capture_writer = writer
            self._writers.append(writer)
        return fleet

    def _settle(
        self, endpoint: _Endpoint, status: str, config_name: str, reason: str | None
    ) -> None:
        with self._lock:
            endpoint.status = status
            endpoint.config_name = config_name
            endpoint.failure_reason = reason
            endpoint.pending_config = None
        self._publish(endpoint)
        endpoint.done.set()

    def _publish(self, endpoint: _Endpoint) -> None:
        endpoint.modified = datetime.now(UTC)
        event = endpoint_event(
            name=endpoint.name,
            arn=endpoint.arn,
            config_name=endpoint.config_name,
            status=endpoint.status,
            variants=_variants(endpoint.blue, millis=True),
            created=endpoint.created,
            modified=endpoint.modified,
            failure_reason=endpoint.failure_reason,
            tags=endpoint.tags,
        )
        try:
            self.emit(event)
        except Exception:  # noqa: BLE001 - a broken subscriber must not stop serving
            log.exception("emitting the endpoint event of %s failed", endpoint.name)

    # -- serving ---------------------------------------------------------------------------

    def invoke(
        self,
        name: str,
        body: bytes,
        content_type: str,
        accept: str,
        inference_id: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """(headers, body) of one InvokeEndpoint answer; AWS's errors raise ServiceError
        (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html)."""
        with self._lock:
            endpoint = self._endpoints.get(name)
        fleet = endpoint.route() if endpoint is not None else None
        if endpoint is None or fleet is None:
            raise ServiceError(
                "ValidationError", f"Endpoint {name} of account {self.account_id} not found."
            )
        if len(body) > MAX_BODY_BYTES:
            raise ServiceError(
                "ValidationError",
                f"Request payload of {len(body)} bytes exceeds the 6 MB limit of InvokeEndpoint.",
                413,
            )
        variant, model = fleet.variants[0]
        variant_name = variant["VariantName"]
        started = time.perf_counter()
        try:
            out, out_type = model.invoke(body, content_type, accept)
        except ContainerError as exc:
            client_side = exc.status < 500
            self._metrics(
                name, variant_name, started, client_error=client_side, server_error=not client_side
            )
            kind = "client" if client_side else "server"
            group = f"/aws/sagemaker/Endpoints/{name}"
            raise ServiceError(
                "ModelError",
                f'Received {kind} error ({exc.status}) from primary with message "{exc}". '
                f"See the log group {group} in account {self.account_id} for more information.",
                424,
                OriginalStatusCode=exc.status,
                OriginalMessage=str(exc),
                LogStreamArn=f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{group}",
            ) from exc
        self._metrics(name, variant_name, started)
        writer = fleet.capture_writer
        if fleet.capture is not None and writer is not None and writer.sampled(fleet.capture):
            writer.record(
                fleet.capture,
                variant_name,
                request=(content_type, body),
                response=(out_type, out),
                inference_id=inference_id,
            )
        return {"Content-Type": out_type, "x-Amzn-Invoked-Production-Variant": variant_name}, out

    def _metrics(
        self,
        endpoint: str,
        variant: str,
        started: float,
        *,
        client_error: bool = False,
        server_error: bool = False,
    ) -> None:
        """What SageMaker publishes per invocation: Invocation4XXErrors / Invocation5XXErrors count
        the model's 4xx / 5xx answers, InvocationModelErrors every non-2xx answer of the model
        (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html)."""
        latency_us = (time.perf_counter() - started) * 1e6
        dims = [
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": variant},
        ]
        data = [
            ("Invocations", 1.0, "None"),
            ("ModelLatency", latency_us, "Microseconds"),
            ("Invocation4XXErrors", float(client_error), "None"),
            ("Invocation5XXErrors", float(server_error), "None"),
            ("InvocationModelErrors", float(client_error or server_error), "None"),
        ]
        try:
            self.cloud.client("cloudwatch").put_metric_data(
                Namespace="AWS/SageMaker",
                MetricData=[
                    {"MetricName": n, "Value": v, "Unit": u, "Dimensions": dims} for n, v, u in data
                ],
            )
        except Exception:  # noqa: BLE001 - metrics are best effort, as in AWS
            log.exception("putting endpoint metrics failed")


def _variants(fleet: Fleet | None, *, millis: bool = False) -> list[dict[str, Any]]:
    if fleet is None:
        return []
    now = datetime.now(UTC)
    out = []
    for variant, model in fleet.variants:
        count = int(variant.get("InitialInstanceCount", 1))
        weight = float(variant.get("InitialVariantWeight", 1.0))
        resolved: Any = int(now.timestamp() * 1000) if millis else now
        out.append(
            {
                "VariantName": variant["VariantName"],
                "DeployedImages": [{"SpecifiedImage": model.image, "ResolutionTime": resolved}],
                "CurrentWeight": weight,
                "DesiredWeight": weight,
                "CurrentInstanceCount": count,
                "DesiredInstanceCount": count,
            }
        )
    return out
