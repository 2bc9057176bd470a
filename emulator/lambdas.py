"""The Lambda service: each function's invocations run in worker processes of its own.

A worker (`emulator/lambda_worker.py`) is one execution environment: started on the first
invocation that finds no idle one (a cold start: the handler module is imported then), reused
after (warm). It runs with exactly its function's configuration as moto holds it: environment
variables, handler, timeout, memory, and credentials of its own role from STS, from the code
package the template deployed (unpacked from S3, as Lambda does). An invocation that outlives the
function's timeout kills its worker and fails as Lambda reports it; a worker that dies takes only
its own invocation with it. Reserved concurrency caps the workers of a function.

Asynchronous invocations (what EventBridge makes) queue per function and follow the function's
EventInvokeConfig: on an error they are retried (Lambda waits about one minute, then two:
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), dropped past
the maximum event age, and then sent to the on-failure destination with Lambda's record shape.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import queue
import struct
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.cloud import Credentials, LocalCloud

log = logging.getLogger(__name__)

WORKER = Path(__file__).with_name("lambda_worker.py")
DEFAULT_CONCURRENCY = 2  # workers per function without reserved concurrency (a laptop, not AWS)
# Lambda's backoff between the attempts of an asynchronous invocation.
ASYNC_RETRY_DELAYS = (60.0, 120.0)


class FunctionError(Exception):
    """The invocation failed in the function (its exception, a timeout, a crash)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("errorMessage", ""))
        self.error = error


class Throttled(Exception):
    """Every execution environment the function may have is busy."""


@dataclass
class FunctionConfig:
    name: str
    arn: str
    handler: str
    timeout: float
    memory: int
    role: str
    environment: dict[str, str]
    code_dir: Path
    reserved: int | None
    max_retry_attempts: int = 2
    max_event_age: float = 21600.0
    on_failure: str | None = None


@dataclass(frozen=True)
class Timing:
    cold: bool
    total: float  # seconds, as the caller waited
    init: float  # the handler module's import (cold starts only)
    handler: float  # the handler's own run

    @property
    def overhead(self) -> float:
        """What the execution environment added: process start and messaging, not the code."""
        return max(0.0, self.total - self.init - self.handler)


@dataclass
class Invocation:
    """One asynchronous invocation as the service tracks it."""

    function: str
    event: dict[str, Any]
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received: float = field(default_factory=time.time)
    attempts: int = 0
    not_before: float = 0.0
    on_done: Callable[[Invocation, str, Any], None] | None = None


class _Worker:
    def __init__(self, config: FunctionConfig, env: dict[str, str], log_path: Path) -> None:
        self.config = config
        parent_read, child_write = os.pipe()
        child_read, parent_write = os.pipe()
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter on the function's code
            [sys.executable, str(WORKER), str(child_read), str(child_write)],
            cwd=config.code_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=(child_read, child_write),
        )
        os.close(child_read)
        os.close(child_write)
        self._requests = os.fdopen(parent_write, "wb")
        self._responses = os.fdopen(parent_read, "rb")
        self.invocations = 0
        self.last_timing: dict[str, float] = {}

    def invoke(self, event: Any, request_id: str) -> Any:
        deadline = time.time() + self.config.timeout
        message = json.dumps(
            {
                "id": request_id,
                "request_id": request_id,
                "event": event,
                "deadline_ms": deadline * 1000,
            },
            default=str,
        ).encode()
        self.invocations += 1
        try:
            self._requests.write(struct.pack(">I", len(message)) + message)
            self._requests.flush()
        except (BrokenPipeError, OSError):
            raise FunctionError(self._exit_error()) from None
        box: dict[str, Any] = {}
        reader = threading.Thread(target=self._read, args=(box,), daemon=True)
        reader.start()
        reader.join(self.config.timeout)
        if reader.is_alive():
            self.kill()
            raise FunctionError(
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"{request_id} Task timed out after "
                    f"{self.config.timeout:.2f} seconds",
                }
            )
        response = box.get("response")
        if response is None:
            raise FunctionError(self._exit_error())
        self.last_timing = {
            k: float(response.pop(k, 0.0)) / 1000 for k in ("init_ms", "handler_ms")
        }
        if not response.get("ok"):
            raise FunctionError({k: v for k, v in response.items() if k not in ("id", "ok")})
        return response.get("result")

    def _read(self, box: dict[str, Any]) -> None:
        header = self._responses.read(4)
        if len(header) == 4:
            (size,) = struct.unpack(">I", header)
            box["response"] = json.loads(self._responses.read(size))

    def _exit_error(self) -> dict[str, Any]:
        code = self.process.wait(5)
        return {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: Error: Runtime exited with error: exit status {code}",
        }

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait(10)
        for stream in (self._requests, self._responses, self._log):
            with contextlib.suppress(OSError):
                stream.close()


class _Function:
    """The execution environments of one function."""

    def __init__(self, config: FunctionConfig, env: dict[str, str], log_path: Path, cap: int):
        self.config = config
        self.env = env
        self.log_path = log_path
        self.limit = config.reserved if config.reserved is not None else cap
        self.idle: list[_Worker] = []
        self.busy = 0
        self.cold_starts = 0
        self.lock = threading.Condition()
        # Per invocation: cold or warm, its whole time, the init phase, the handler's own time.
        self.durations: list[Timing] = []
        self.closed = False

    @property
    def slowest(self) -> float:
        """Seconds of its slowest invocation so far, as the caller waited."""
        return max((t.total for t in self.durations), default=0.0)

    def acquire(self, wait: bool) -> tuple[_Worker | None, bool]:
        with self.lock:
            while True:
                while self.idle:
                    worker = self.idle.pop()
                    if worker.alive:
                        self.busy += 1
                        return worker, False
                    worker.kill()
                if self.busy < self.limit:
                    self.busy += 1
                    return None, True
                if not wait:
                    raise Throttled(
                        f"Rate Exceeded: {self.config.name} is at its concurrency limit"
                    )
                self.lock.wait()

    def release(self, worker: _Worker | None) -> None:
        with self.lock:
            self.busy -= 1
            if worker is not None and worker.alive and not self.closed:
                self.idle.append(worker)
            elif worker is not None:
                worker.kill()
            self.lock.notify()

    def invoke(self, event: Any, request_id: str, *, wait: bool) -> Any:
        worker, cold = self.acquire(wait)
        started = time.perf_counter()
        timing: dict[str, float] = {}
        try:
            if worker is None:
                self.cold_starts += 1
                worker = _Worker(self.config, self.env, self.log_path)
            try:
                return worker.invoke(event, request_id)
            except FunctionError:
                if not worker.alive:
                    worker = None
                raise
            finally:
                timing = worker.last_timing if worker is not None else {}
        finally:
            total = time.perf_counter() - started
            self.durations.append(
                Timing(cold, total, timing.get("init_ms", 0.0), timing.get("handler_ms", 0.0))
            )
            self.release(worker)

    def close(self) -> None:
        """No new invocations here; idle environments end now, busy ones when they finish."""
        with self.lock:
            self.closed = True
            for worker in self.idle:
                worker.kill()
            self.idle.clear()


class LambdaService:
    def __init__(
        self,
        cloud: LocalCloud,
        *,
        scratch_dir: Path,
        log_dir: Path,
        time_scale: float = 1.0,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.cloud = cloud
        self.scratch_dir = Path(scratch_dir).resolve()
        self.log_dir = Path(log_dir).resolve()
        self.time_scale = time_scale
        self.concurrency = concurrency
        self._functions: dict[str, _Function] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[Invocation | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._delayed: list[Invocation] = []
        self._stopped = threading.Event()
        self._code: dict[str, tuple[str, str, bytes]] = {}

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, workers: int = 4) -> LambdaService:
        for i in range(workers):
            thread = threading.Thread(target=self._run_async, name=f"lambda-async-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        timer = threading.Thread(target=self._run_delayed, name="lambda-retries", daemon=True)
        timer.start()
        self._threads.append(timer)
        return self

    def stop(self) -> None:
        self._stopped.set()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(5)
        with self._lock:
            for function in self._functions.values():
                function.close()

    # -- configuration, from moto ----------------------------------------------------------

    def invalidate(self, name: str) -> None:
        """The function's configuration changed: new execution environments from now on."""
        name = name.rsplit(":function:", 1)[-1].split(":", 1)[0]
        with self._lock:
            stale = self._functions.pop(name, None)
        if stale is not None:
            stale.close()

    def function(self, name: str) -> _Function:
        name = name.rsplit(":function:", 1)[-1].split(":", 1)[0]
        with self._lock:
            if name not in self._functions:
                self._functions[name] = self._load(name)
            return self._functions[name]

    def _load(self, name: str) -> _Function:
        lam = self.cloud.client("lambda")
        got = lam.get_function(FunctionName=name)
        conf = got["Configuration"]
        reserved = got.get("Concurrency", {}).get("ReservedConcurrentExecutions")
        config = FunctionConfig(
            name=conf["FunctionName"],
            arn=conf["FunctionArn"],
            handler=conf["Handler"],
            timeout=float(conf.get("Timeout", 3)),
            memory=int(conf.get("MemorySize", 128)),
            role=conf["Role"],
            environment=dict(conf.get("Environment", {}).get("Variables", {})),
            code_dir=self._unpack(conf["FunctionName"], conf.get("CodeSha256", "")),
            reserved=int(reserved) if reserved is not None else None,
        )
        try:
            invoke_config = lam.get_function_event_invoke_config(FunctionName=name)
        except lam.exceptions.ResourceNotFoundException:
            invoke_config = {}
        config.max_retry_attempts = int(invoke_config.get("MaximumRetryAttempts", 2))
        config.max_event_age = float(invoke_config.get("MaximumEventAgeInSeconds", 21600))
        destination = invoke_config.get("DestinationConfig", {}).get("OnFailure", {})
        config.on_failure = destination.get("Destination")
        credentials = self.cloud.assume_role(config.role, config.name)
        env = self._environment(config, credentials)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return _Function(config, env, self.log_dir / f"{config.name}.log", self.concurrency)

    def register_code(
        self, name: str, *, bucket: str = "", key: str = "", zip_file: bytes = b""
    ) -> None:
        """Where the deployment package of `name` is: an S3 object (the template's
        Code.S3Bucket/S3Key) or the zip a CreateFunction call carried. A function whose code
        changes starts new execution environments, as Lambda does."""
        with self._lock:
            self._code[name] = (bucket, key, zip_file)
        self.invalidate(name)

    def _unpack(self, name: str, sha: str) -> Path:
        if name not in self._code:
            raise KeyError(f"the deployment package of {name} is unknown to the local runtime")
        bucket, key, zip_file = self._code[name]
        target = self.scratch_dir / f"{name}-{(sha or key).replace('/', '_')[:16]}"
        if not (target / ".unpacked").exists():
            target.mkdir(parents=True, exist_ok=True)
            archive = target.with_suffix(".zip")
            if zip_file:
                archive.write_bytes(zip_file)
            else:
                self.cloud.client("s3").download_file(bucket, key, str(archive))
            with zipfile.ZipFile(archive) as package:
                package.extractall(target)
            archive.unlink()
            (target / ".unpacked").touch()
        return target

    def _environment(self, config: FunctionConfig, credentials: Credentials) -> dict[str, str]:
        """What Lambda puts in a Python function's environment, and nothing else
        (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime)."""
        tmp = self.scratch_dir / f"{config.name}-tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        keep = {k: os.environ[k] for k in ("PATH", "LANG", "SYSTEMROOT") if k in os.environ}
        return {
            **keep,
            **config.environment,
            **self.cloud.env(credentials),
            "_HANDLER": config.handler,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python{}.{}".format(*sys.version_info[:2]),
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "LAMBDA_TASK_ROOT": str(config.code_dir),
            "LAMBDA_RUNTIME_DIR": str(WORKER.parent),
            "LOCAL_LAMBDA_FUNCTION_ARN": config.arn,
            # Read by the worker: the package goes after this interpreter's own libraries, which
            # stand for the layer (the package may carry wheels built for Lambda's Python).
            "LOCAL_LAMBDA_CODE_DIR": str(config.code_dir),
            "PYTHONDONTWRITEBYTECODE": "1",
            "TMPDIR": str(tmp),
            "TZ": ":UTC",
            # No X-Ray daemon locally: with tracing on, the SDK would only log emitter errors.
            "POWERTOOLS_TRACE_DISABLED": "true",
        }

    # -- invoking --------------------------------------------------------------------------

    def invoke(self, name: str, event: Any, *, request_id: str | None = None) -> Any:
        """RequestResponse: the function's result, or FunctionError / Throttled."""
        function = self.function(name)
        started = time.time()
        try:
            result = function.invoke(event, request_id or str(uuid.uuid4()), wait=False)
        except FunctionError:
            self._metrics(function, started, error=True)
            raise
        self._metrics(function, started, error=False)
        return result

    def invoke_async(
        self,
        name: str,
        event: dict[str, Any],
        on_done: Callable[[Invocation, str, Any], None] | None = None,
    ) -> Invocation:
        """Event: queued and run later; `on_done(invocation, outcome, detail)` when it ends
        (`ok` with the result, `dead-lettered` or `dropped` with the last error)."""
        self.function(name)  # unknown functions fail here, at the Invoke call
        invocation = Invocation(name, event, on_done=on_done)
        with self._idle:
            self._pending += 1
        self._queue.put(invocation)
        return invocation

    def drain(self, timeout: float) -> bool:
        """Wait until no asynchronous invocation is queued, running or waiting to retry."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    @property
    def pending(self) -> int:
        return self._pending

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per function: cold starts and the timings of its cold and warm invocations."""
        out = {}
        with self._lock:
            for name, function in self._functions.items():
                cold = [t for t in function.durations if t.cold]
                warm = [t for t in function.durations if not t.cold]
                out[name] = {"cold_starts": function.cold_starts, "cold": cold, "warm": warm}
        return out

    def _run_async(self) -> None:
        while True:
            invocation = self._queue.get()
            if invocation is None:
                return
            self._attempt(invocation)

    def _attempt(self, invocation: Invocation) -> None:
        function = self.function(invocation.function)
        config = function.config
        invocation.attempts += 1
        started = time.time()
        try:
            result = function.invoke(invocation.event, invocation.request_id, wait=True)
        except FunctionError as exc:
            self._metrics(function, started, error=True)
            age = time.time() - invocation.received
            retries_left = invocation.attempts <= config.max_retry_attempts
            if retries_left and age < config.max_event_age and not self._stopped.is_set():
                # In AWS the backoff (minutes) dwarfs an invocation (seconds). Scaled, it must
                # keep that order: a retry that overtook the invocation it waits for (a
                # duplicate event behind Powertools idempotency's in-progress record) would
                # fail where AWS's succeeds. So never sooner than this function's slowest run.
                delay = max(
                    ASYNC_RETRY_DELAYS[min(invocation.attempts, 2) - 1] * self.time_scale,
                    function.slowest,
                )
                invocation.not_before = time.monotonic() + delay
                with self._idle:
                    self._delayed.append(invocation)
                    self._idle.notify_all()
                return
            condition = "EventAgeExceeded" if retries_left else "RetriesExhausted"
            outcome = self._dead_letter(invocation, config, exc.error, condition)
            self._done(invocation, outcome, exc.error)
            return
        self._metrics(function, started, error=False)
        self._done(invocation, "ok", result)

    def _run_delayed(self) -> None:
        while not self._stopped.wait(0.05):
            now = time.monotonic()
            with self._idle:
                due = [i for i in self._delayed if i.not_before <= now]
                self._delayed = [i for i in self._delayed if i.not_before > now]
            for invocation in due:
                self._queue.put(invocation)

    def _done(self, invocation: Invocation, outcome: str, detail: Any) -> None:
        try:
            if invocation.on_done is not None:
                invocation.on_done(invocation, outcome, detail)
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _dead_letter(
        self, invocation: Invocation, config: FunctionConfig, error: dict[str, Any], condition: str
    ) -> str:
        if config.on_failure is None:
            return "dropped"
        record = {
            "version": "1.0",
            "timestamp": dt.datetime.now(dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "requestContext": {
                "requestId": invocation.request_id,
                "functionArn": f"{config.arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": invocation.attempts,
            },
            "requestPayload": invocation.event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": error,
        }
        destination = config.on_failure
        if ":sqs:" not in destination:
            log.warning("on-failure destination %s is not a queue; not supported", destination)
            return "dropped"
        name = destination.rsplit(":", 1)[-1]
        sqs = self.cloud.client("sqs")
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record, default=str))
        return "dead-lettered"

    def _metrics(self, function: _Function, started: float, *, error: bool) -> None:
        """The AWS/Lambda metrics Lambda publishes for every invocation, so alarms on them work."""
        dims = [{"Name": "FunctionName", "Value": function.config.name}]
        now = dt.datetime.now(dt.UTC)
        data = [
            ("Invocations", 1.0, "Count"),
            ("Errors", 1.0 if error else 0.0, "Count"),
            ("Duration", (time.time() - started) * 1000, "Milliseconds"),
        ]
        try:
            self.cloud.client("cloudwatch").put_metric_data(
                Namespace="AWS/Lambda",
                MetricData=[
                    {"MetricName": n, "Value": v, "Unit": u, "Dimensions": dims, "Timestamp": now}
                    for n, v, u in data
                ],
            )
        except Exception:  # noqa: BLE001 - metrics are best effort, as in AWS
            log.exception("putting Lambda metrics failed")
