"""The local EventBridge: matches events against the deployed rules and invokes their targets.

Delivery is asynchronous like EventBridge -> Lambda, but through ONE worker thread: events are
processed in order, one at a time, so a local run is deterministic. A Lambda target is invoked
in-process (`emulator.lambda_runtime`); a failing invocation is retried as the function's
EventInvokeConfig says (two retries by default), then the event and the error go to its on-failure
queue (the deployed SQS queue in moto) — never dropped. A pipeline target is started through
moto's StartPipelineExecution, which the LocalCloud hook routes to the executor.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import re
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.events.models import EventPattern

from emulator.aws_events import iso
from emulator.deployer import Deployment, RuleSpec, TargetSpec
from emulator.lambda_runtime import invoke

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass
class TimelineEntry:
    time: str
    event_id: str
    source: str
    detail_type: str
    rules: list[str]
    target: str | None
    outcome: str  # ok | failed | dead-lettered | unmatched
    duration: float
    attempts: int = 0
    result: Any = None
    error: str | None = None


@dataclass
class _Item:
    event: dict[str, Any]
    rule: RuleSpec | None = None  # set for scheduled events: only that rule's targets


@dataclass
class _Schedule:
    rule: RuleSpec
    period: float | None  # None: a cron expression, fired only by run_schedule
    last: float = field(default=0.0)


class EventBus:
    def __init__(self, cloud: Any, deployment: Deployment, *, retry_delay: float = 0.0) -> None:
        self.cloud = cloud
        self.deployment = deployment
        self.retry_delay = retry_delay
        self.timeline: list[TimelineEntry] = []
        self.delivered: dict[str, dict[str, Any]] = {}  # event id -> event, for replay/report
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._patterns = [
            (rule, EventPattern.load(json.dumps(rule.pattern)))
            for rule in deployment.rules
            if rule.pattern is not None and rule.enabled
        ]
        now = time.time()
        self._schedules = {
            rule.name: _Schedule(rule, _period(rule.schedule), now)
            for rule in deployment.rules
            if rule.schedule and rule.enabled
        }
        self._clients: dict[str, Any] = {}
        self._worker: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> EventBus:
        self._worker = threading.Thread(target=self._run, name="local-event-bus", daemon=True)
        self._worker.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout)
            self._worker = None

    def __enter__(self) -> EventBus:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- input -----------------------------------------------------------------------------

    def put(self, event: dict[str, Any]) -> None:
        """Any AWS-shaped event; matched against every enabled rule with a pattern."""
        self._queue.put(_Item(event))

    def run_schedule(self, rule_name: str, now: float | None = None) -> None:
        """Fire a schedule rule's targets now with a `Scheduled Event`."""
        schedule = self._schedules.get(rule_name)
        if schedule is None:
            raise KeyError(f"no enabled schedule rule named {rule_name!r}")
        schedule.last = time.time() if now is None else now
        self._queue.put(_Item(self._scheduled_event(schedule.rule, schedule.last), schedule.rule))

    def tick(self, now: float | None = None) -> list[str]:
        """Fire every rate() schedule whose period has elapsed since it last fired."""
        now = time.time() if now is None else now
        fired = []
        for name, schedule in self._schedules.items():
            if schedule.period is not None and now - schedule.last >= schedule.period:
                self.run_schedule(name, now)
                fired.append(name)
        return fired

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait until every queued event is delivered; False if `timeout` passed first."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._worker is None:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    # -- delivery --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._deliver(item)
            except Exception:  # noqa: BLE001 - the bus must outlive any one event
                self._record(item.event, [], None, "failed", 0.0, error=traceback.format_exc())
            finally:
                self._queue.task_done()

    def _deliver(self, item: _Item) -> None:
        self.delivered[str(item.event.get("id", ""))] = item.event
        if item.rule is not None:
            matched = [item.rule]
        else:
            matched = [
                rule for rule, pattern in self._patterns if pattern.matches_event(item.event)
            ]
        if not matched:
            self._record(item.event, [], None, "unmatched", 0.0)
        for rule in matched:
            for target in rule.targets:
                if target.kind == "lambda":
                    self._to_lambda(item.event, rule, target)
                else:
                    self._to_pipeline(item.event, rule, target)

    def _to_lambda(self, event: dict[str, Any], rule: RuleSpec, target: TargetSpec) -> None:
        spec = self.deployment.functions.get(target.name)
        if spec is None:
            self._dead_letter_rule(
                event,
                rule,
                target,
                "ResourceNotFound",
                f"function {target.name} is not deployed",
                0.0,
                1,
            )
            return
        started, attempts, error = time.monotonic(), 0, None
        for attempt in range(1 + spec.max_retry_attempts):
            attempts = attempt + 1
            try:
                result = invoke(spec, event, self.cloud.env)
            except Exception as exc:  # noqa: BLE001 - a function error, as Lambda reports it
                error = exc
                if attempt < spec.max_retry_attempts and self.retry_delay:
                    time.sleep(self.retry_delay)
                continue
            self._record(
                event,
                [rule.name],
                spec.name,
                "ok",
                time.monotonic() - started,
                attempts=attempts,
                result=result,
            )
            return
        assert error is not None
        duration = time.monotonic() - started
        destination = spec.on_failure_arn or target.dead_letter_arn
        if destination is None:
            self._record(
                event,
                [rule.name],
                spec.name,
                "failed",
                duration,
                attempts=attempts,
                error=f"{type(error).__name__}: {error} (no failure destination)",
            )
            return
        record = {
            "version": "1.0",
            "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{spec.arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_exception(error)[-5:],
            },
        }
        self._send(destination, json.dumps(record, default=str), {})
        self._record(
            event,
            [rule.name],
            spec.name,
            "dead-lettered",
            duration,
            attempts=attempts,
            error=f"{type(error).__name__}: {error}",
        )

    def _to_pipeline(self, event: dict[str, Any], rule: RuleSpec, target: TargetSpec) -> None:
        started, attempts = time.monotonic(), 0
        sagemaker = self._client("sagemaker")
        parameters = [{"Name": k, "Value": v} for k, v in target.pipeline_parameters.items()]
        last_error = ""
        for attempt in range(3):
            attempts = attempt + 1
            try:
                response = sagemaker.start_pipeline_execution(
                    PipelineName=target.name,
                    PipelineParameters=parameters,
                    ClientRequestToken=f"{event['id']}-{attempt}"[:128],
                )
            except Exception as exc:  # noqa: BLE001 - EventBridge retries any failed delivery
                last_error = f"{type(exc).__name__}: {exc}"
                continue
            self._record(
                event,
                [rule.name],
                target.name,
                "ok",
                time.monotonic() - started,
                attempts=attempts,
                result=response["PipelineExecutionArn"],
            )
            return
        self._dead_letter_rule(
            event,
            rule,
            target,
            "StartPipelineExecutionFailed",
            last_error,
            time.monotonic() - started,
            attempts,
        )

    def _dead_letter_rule(
        self,
        event: dict[str, Any],
        rule: RuleSpec,
        target: TargetSpec,
        code: str,
        message: str,
        duration: float,
        attempts: int,
    ) -> None:
        # EventBridge's own DLQ: the event as the body, the failure in message attributes.
        if target.dead_letter_arn is not None:
            attributes = {
                "RULE_ARN": rule.arn,
                "TARGET_ARN": target.arn,
                "ERROR_CODE": code,
                "ERROR_MESSAGE": message[:1000],
            }
            self._send(target.dead_letter_arn, json.dumps(event), attributes)
            outcome = "dead-lettered"
        else:
            outcome = "failed"
        self._record(
            event,
            [rule.name],
            target.name,
            outcome,
            duration,
            attempts=attempts,
            error=f"{code}: {message}",
        )

    def _send(self, queue_arn: str, body: str, attributes: dict[str, str]) -> None:
        url = self.deployment.queues.get(queue_arn)
        if url is None:
            raise KeyError(f"failure destination {queue_arn} is not a deployed queue")
        self._client("sqs").send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={
                k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
            },
        )

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.cloud.client(service)
        return self._clients[service]

    def _record(
        self,
        event: dict[str, Any],
        rules: list[str],
        target: str | None,
        outcome: str,
        duration: float,
        *,
        attempts: int = 0,
        result: Any = None,
        error: str | None = None,
    ) -> None:
        self.timeline.append(
            TimelineEntry(
                time=iso(dt.datetime.now(dt.UTC)),
                event_id=str(event.get("id", "")),
                source=str(event.get("source", "")),
                detail_type=str(event.get("detail-type", "")),
                rules=rules,
                target=target,
                outcome=outcome,
                duration=round(duration, 3),
                attempts=attempts,
                result=result,
                error=error,
            )
        )

    def _scheduled_event(self, rule: RuleSpec, now: float) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.cloud.account,
            "time": iso(dt.datetime.fromtimestamp(now, dt.UTC)),
            "region": self.cloud.region,
            "resources": [rule.arn],
            "detail": {},
        }


def _period(expression: str | None) -> float | None:
    match = _RATE.match(expression or "")
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]
