"""Serving SageMaker endpoints locally: the InvokeEndpoint contract, capture, metrics, blue/green.

`apply` is what CreateEndpoint and UpdateEndpoint do: it returns at once (the endpoint is
Creating/Updating, as in AWS) and a worker loads the models of the endpoint config from moto,
then serves them. An update with a DeploymentConfig runs the canary: a share of requests goes to
the new fleet (green) for the wait interval while the rollback alarms are watched; any alarm in
ALARM rolls back to blue, silently as AWS does: the endpoint ends IN_SERVICE on the old config.
moto's endpoint record is updated before each event, so `describe_endpoint` agrees with it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from emulator.clients import local_client
from emulator.endpoint_capture import CaptureConfig, CaptureWriter
from emulator.endpoint_models import BadRequest, LoadedModel, ModelFailed, load_model

log = logging.getLogger(__name__)

ENDPOINT_EVENT = "SageMaker Endpoint State Change"
_POLL = 0.2  # seconds between alarm checks during a canary


class EndpointBusy(ValueError):
    """An update was asked for while the endpoint is still creating or updating."""


@dataclass
class Fleet:
    """One endpoint config's models, ready to serve."""

    config_name: str
    variants: list[tuple[dict[str, Any], LoadedModel]]  # (ProductionVariant, model)
    capture: CaptureConfig | None


@dataclass
class _Endpoint:
    name: str
    arn: str
    created: datetime
    status: str = "Creating"
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


class EndpointHost:
    def __init__(
        self,
        *,
        endpoint_url: str,
        scratch_dir: Path,
        emit: Callable[[dict], None],
        alarm_state: Callable[[str], str],
        time_scale: float = 1.0,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        capture_batch: int = 50,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.scratch_dir = Path(scratch_dir).resolve()
        self.emit = emit
        self.alarm_state = alarm_state
        self.time_scale = time_scale
        self.region = region
        self.account_id = account_id
        self._endpoints: dict[str, _Endpoint] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._s3 = self._client("s3")
        self._capture: dict[str, CaptureWriter] = {}  # by endpoint name
        self._capture_batch = capture_batch

    # -- the seams -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL for a `sagemaker-runtime` client's endpoint_url; starts the server lazily."""
        with self._lock:
            if self._server is None:
                self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
                self._server.daemon_threads = True
                threading.Thread(
                    target=self._server.serve_forever, name="endpoint-host", daemon=True
                ).start()
            host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def apply(
        self, *, endpoint_name: str, endpoint_config_name: str, deployment_config: dict | None
    ) -> None:
        """Create the endpoint or update it to the config; returns at once (see `wait`)."""
        with self._lock:
            endpoint = self._endpoints.get(endpoint_name)
            if endpoint is not None and not endpoint.done.is_set():
                raise EndpointBusy(
                    f"endpoint {endpoint_name} is {endpoint.status}; "
                    "wait for InService before updating it"
                )
            if endpoint is None:
                arn = f"arn:aws:sagemaker:{self.region}:{self.account_id}:endpoint/{endpoint_name}"
                endpoint = _Endpoint(endpoint_name, arn, datetime.now(UTC))
                self._endpoints[endpoint_name] = endpoint
                self._capture[endpoint_name] = CaptureWriter(
                    self._s3, endpoint_name, self._capture_batch
                )
            endpoint.done.clear()
            blue = endpoint.blue
            endpoint.status = "Creating" if blue is None else "Updating"
        if blue is None:
            self._publish(endpoint, endpoint_config_name, "CREATING")
        else:  # as in AWS, the old config shows until the update is done
            self._publish(endpoint, blue.config_name, "UPDATING")
        threading.Thread(
            target=self._apply,
            args=(endpoint, endpoint_config_name, deployment_config),
            name=f"endpoint-{endpoint_name}",
            daemon=True,
        ).start()

    def wait(self, endpoint_name: str, timeout: float) -> str:
        """The endpoint's status once it settles (InService or Failed)."""
        endpoint = self._endpoints.get(endpoint_name)
        if endpoint is None:
            raise KeyError(f"endpoint {endpoint_name} was never applied here")
        if not endpoint.done.wait(timeout):
            raise TimeoutError(f"endpoint {endpoint_name} still {endpoint.status} after {timeout}s")
        return endpoint.status

    def serving_config(self, endpoint_name: str) -> str | None:
        endpoint = self._endpoints.get(endpoint_name)
        return None if endpoint is None or endpoint.blue is None else endpoint.blue.config_name

    def flush(self) -> None:
        """Write every buffered capture record to S3."""
        for writer in list(self._capture.values()):
            writer.flush()

    def close(self) -> None:
        self.flush()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- deploying -------------------------------------------------------------------------

    def _apply(self, endpoint: _Endpoint, config_name: str, deployment: dict | None) -> None:
        try:
            fleet = self._load_fleet(config_name)
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
            endpoint.green, endpoint.green_percent = None, 0.0
        served = endpoint.blue.config_name
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

    def _load_fleet(self, config_name: str) -> Fleet:
        sm = self._client("sagemaker")
        config = sm.describe_endpoint_config(EndpointConfigName=config_name)
        variants = []
        for variant in config["ProductionVariants"]:
            model = sm.describe_model(ModelName=variant["ModelName"])
            container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
            loaded = load_model(
                s3=self._s3,
                name=variant["ModelName"],
                container=container,
                scratch=self.scratch_dir / "models",
            )
            variants.append((variant, loaded))
        if not variants:
            raise ValueError(f"endpoint config {config_name} has no production variants")
        return Fleet(config_name, variants, CaptureConfig.from_endpoint_config(config))

    def _settle(
        self, endpoint: _Endpoint, status: str, config_name: str, reason: str | None
    ) -> None:
        endpoint.status = status
        event_status = "IN_SERVICE" if status == "InService" else "FAILED"
        self._publish(endpoint, config_name, event_status, reason)
        endpoint.done.set()

    def _publish(
        self, endpoint: _Endpoint, config_name: str, status: str, reason: str | None = None
    ) -> None:
        moto_status = {
            "CREATING": "Creating",
            "UPDATING": "Updating",
            "IN_SERVICE": "InService",
            "FAILED": "Failed",
        }[status]
        try:
            set_moto_endpoint_state(
                endpoint.name,
                config_name,
                moto_status,
                reason,
                region=self.region,
                account_id=self.account_id,
            )
        except Exception:  # noqa: BLE001 - the event must still go out
            log.exception("updating moto's record of endpoint %s failed", endpoint.name)
        blue = endpoint.blue
        fleet = blue if blue is not None and blue.config_name == config_name else None
        now = datetime.now(UTC)
        detail: dict[str, Any] = {
            "EndpointName": endpoint.name,
            "EndpointArn": endpoint.arn,
            "EndpointConfigName": config_name,
            "ProductionVariants": _variant_detail(fleet, now),
            "EndpointStatus": status,
            "CreationTime": int(endpoint.created.timestamp() * 1000),
            "LastModifiedTime": int(now.timestamp() * 1000),
            "Tags": {},
        }
        if reason:
            detail["FailureReason"] = reason
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": ENDPOINT_EVENT,
            "source": "aws.sagemaker",
            "account": self.account_id,
            "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [endpoint.arn],
            "detail": detail,
        }
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
    ) -> tuple[int, dict[str, str], bytes]:
        """(HTTP status, headers, body) of one InvokeEndpoint request."""
        endpoint = self._endpoints.get(name)
        fleet = endpoint.route() if endpoint is not None else None
        if endpoint is None or fleet is None:
            message = f"Endpoint {name} of account {self.account_id} not found."
            return _error(404, "ValidationError", message)
        variant, model = fleet.variants[0]
        variant_name = variant["VariantName"]
        started = time.perf_counter()
        try:
            out, out_type = model.invoke(body, content_type, accept)
        except BadRequest as exc:
            self._metrics(name, variant_name, started, client_error=True)
            return _error(400, "ModelError", f"Received client error (400) from model: {exc}")
        except ModelFailed as exc:
            self._metrics(name, variant_name, started, server_error=True)
            return _error(424, "ModelError", f"Received server error (500) from model: {exc}")
        self._metrics(name, variant_name, started)
        if fleet.capture is not None:
            writer = self._capture[name]
            if writer.sampled(fleet.capture):
                writer.record(
                    fleet.capture,
                    variant_name,
                    request=(content_type, body),
                    response=(out_type, out),
                    inference_id=inference_id,
                )
        return (
            200,
            {"Content-Type": out_type, "x-Amzn-Invoked-Production-Variant": variant_name},
            out,
        )

    def _metrics(
        self,
        endpoint: str,
        variant: str,
        started: float,
        *,
        client_error: bool = False,
        server_error: bool = False,
    ) -> None:
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
        ]
        try:
            self._client("cloudwatch").put_metric_data(
                Namespace="AWS/SageMaker",
                MetricData=[
                    {"MetricName": n, "Value": v, "Unit": u, "Dimensions": dims} for n, v, u in data
                ],
            )
        except Exception:  # noqa: BLE001 - metrics are best effort, as in AWS
            log.exception("putting endpoint metrics failed")

    def _client(self, service: str) -> Any:
        return local_client(service, endpoint_url=self.endpoint_url, region=self.region)


def set_moto_endpoint_state(
    endpoint_name: str,
    config_name: str,
    status: str,
    failure_reason: str | None = None,
    *,
    region: str = "us-east-1",
    account_id: str = "123456789012",
) -> None:
    """Make moto's endpoint record say what is really serving (moto runs in this process)."""
    from moto.sagemaker.models import sagemaker_backends

    from emulator.moto_patches import record_endpoint_state

    backend = sagemaker_backends[account_id][region]
    endpoint = backend.endpoints.get(endpoint_name)
    config = backend.endpoint_configs.get(config_name)
    if endpoint is None:
        if config is None:
            return  # neither known to moto: nothing to keep consistent
        endpoint = backend.create_endpoint(endpoint_name, config_name, tags=[])
    record_endpoint_state(
        endpoint, status, config_name=config_name, config=config, failure_reason=failure_reason
    )


def _variant_detail(fleet: Fleet | None, now: datetime) -> list[dict[str, Any]]:
    if fleet is None:
        return []
    out = []
    for variant, model in fleet.variants:
        count = int(variant.get("InitialInstanceCount", 1))
        weight = float(variant.get("InitialVariantWeight", 1.0))
        out.append(
            {
                "DesiredInstanceCount": count,
                "CurrentInstanceCount": count,
                "DesiredWeight": weight,
                "CurrentWeight": weight,
                "VariantName": variant["VariantName"],
                "DeployedImages": [
                    {"SpecifiedImage": model.image, "ResolutionTime": int(now.timestamp() * 1000)}
                ],
            }
        )
    return out


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    return status, headers, json.dumps({"ErrorCode": code, "message": message}).encode()


def _handler(host: EndpointHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the http.server protocol
            if self.path == "/ping":
                self._send(200, {"Content-Type": "text/plain"}, b"")
            else:
                self._send(*_error(404, "UnknownOperationException", f"no route {self.path}"))

        def do_POST(self) -> None:  # noqa: N802
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if len(parts) != 3 or parts[0] != "endpoints" or parts[2] != "invocations":
                self._send(*_error(404, "UnknownOperationException", f"no route {self.path}"))
                return
            self._send(
                *host.invoke(
                    unquote(parts[1]),
                    body,
                    self.headers.get("Content-Type") or "application/octet-stream",
                    self.headers.get("Accept") or "application/json",
                    self.headers.get("X-Amzn-SageMaker-Inference-Id"),
                )
            )

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("endpoint host: " + format, *args)

    return Handler
