"""The default event bus: every event AWS services emit and every `PutEvents` entry, matched
against the account's rules and delivered to their targets.

Rules and targets are read from moto (the deployed stack put them there), so a rule a user adds
with `aws events put-rule` counts too; patterns are matched by moto's own EventBridge pattern
matcher (`matches`, which also answers `TestEventPattern`, an operation moto lacks). Delivery is
asynchronous and in order, through one worker thread. A Lambda target is an asynchronous
invocation (`emulator.lambdas`), whose retries and failure destination are Lambda's; a SageMaker
pipeline target is a `StartPipelineExecution` under the target's role; an SQS target a
`SendMessage`. A delivery that fails is retried as the target's RetryPolicy allows, then sent to
its dead-letter queue with EventBridge's attributes
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html), never dropped.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import json
import logging
import queue
import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from moto.events.models import EventPattern

from emulator.aws_events import iso, scheduled_event
from emulator.cloud import LocalCloud
from emulator.lambdas import LambdaService

log = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
DELIVERY_ATTEMPTS = 3  # local cap on EventBridge's delivery retries (RetryPolicy may allow more)


@dataclass
class TimelineEntry:
    time: str
    event_id: str
    source: str
    detail_type: str
    rules: list[str]
    target: str | None
    outcome: str  # queued | ok | failed | dead-lettered | dropped | unmatched
    duration: float
    attempts: int = 0
    result: Any = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic, repr=False)


@dataclass(frozen=True)
class Target:
    id: str
    arn: str
    role_arn: str | None
    dead_letter_arn: str | None
    max_attempts: int
    pipeline_parameters: tuple[tuple[str, str], ...] = ()

    @property
    def kind(self) -> str:
        if ":lambda:" in self.arn and ":function:" in self.arn:
            return "lambda"
        if ":sagemaker:" in self.arn and ":pipeline/" in self.arn:
            return "pipeline"
        if ":sqs:" in self.arn:
            return "sqs"
        return "unsupported"

    @property
    def name(self) -> str:
        if self.kind == "pipeline":
            return self.arn.rsplit("/", 1)[-1]
        return self.arn.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class Rule:
    name: str
    arn: str
    pattern: str | None
    schedule: str | None
    enabled: bool
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class Delivery:
    """How EventBridge delivers: at least once, and not necessarily in order
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html).
    Each event is delivered `copies` times (the copies carry the same id), every delivery delayed
    by a random time up to `reorder_window` seconds, so events and their copies can overtake
    each other. SageMaker's own state-change events go through the same bus, so they repeat too.
    """

    copies: int = 1
    reorder_window: float = 0.0
    seed: int | None = None


EXACTLY_ONCE = Delivery()
AT_LEAST_ONCE = Delivery(copies=2, reorder_window=0.5)


@dataclass
class _Item:
    event: dict[str, Any]
    rule: Rule | None = None  # set for scheduled events: only that rule's targets


class EventBus:
    def __init__(
        self, cloud: LocalCloud, lambdas: LambdaService, delivery: Delivery = EXACTLY_ONCE
    ) -> None:
        self.cloud = cloud
        self.lambdas = lambdas
        self.delivery = delivery
        self._random = random.Random(delivery.seed)
        self._delayed: list[tuple[float, int, _Item]] = []  # (due, order, item), a heap
        self._delayed_lock = threading.Condition()
        self._order = itertools.count()
        self.timeline: list[TimelineEntry] = []
        self.delivered: dict[str, dict[str, Any]] = {}  # event id -> event
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._rules: list[Rule] | None = None
        self._rules_lock = threading.Lock()
        self._last_fired: dict[str, float] = {}
        self._started = time.time()
        self._worker: threading.Thread | None = None
        self._credentials: dict[str, Any] = {}
        # Checks EventBridge's own sends against the queue's policy (`emulator.authorizer`).
        self.authorizer: Any = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> EventBus:
        self._worker = threading.Thread(target=self._run, name="local-event-bus", daemon=True)
        self._worker.start()
        if self.delivery.reorder_window > 0:
            threading.Thread(
                target=self._release, name="local-event-bus-delays", daemon=True
            ).start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        with self._delayed_lock:
            self._delayed.clear()
            self._delayed_lock.notify_all()
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout)
            self._worker = None

    # -- rules, from moto ------------------------------------------------------------------

    def invalidate(self) -> None:
        """A rule or target changed: read them again before the next delivery."""
        with self._rules_lock:
            self._rules = None

    def rules(self) -> list[Rule]:
        with self._rules_lock:
            if self._rules is None:
                self._rules = self._load_rules()
            return self._rules

    def rule(self, name: str) -> Rule:
        for rule in self.rules():
            if rule.name == name:
                return rule
        raise KeyError(f"no event rule named {name!r}")

    def _load_rules(self) -> list[Rule]:
        events = self.cloud.client("events")
        out = []
        for page in events.get_paginator("list_rules").paginate():
            for rule in page["Rules"]:
                targets = []
                listed = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
                for t in listed:
                    retry = t.get("RetryPolicy", {})
                    params = t.get("SageMakerPipelineParameters", {}).get(
                        "PipelineParameterList", []
                    )
                    targets.append(
                        Target(
                            id=t["Id"],
                            arn=t["Arn"],
                            role_arn=t.get("RoleArn"),
                            dead_letter_arn=t.get("DeadLetterConfig", {}).get("Arn"),
                            max_attempts=1 + min(int(retry.get("MaximumRetryAttempts", 185)), 2),
                            pipeline_parameters=tuple((p["Name"], p["Value"]) for p in params),
                        )
                    )
                out.append(
                    Rule(
                        name=rule["Name"],
                        arn=rule["Arn"],
                        pattern=rule.get("EventPattern"),
                        schedule=rule.get("ScheduleExpression"),
                        enabled=rule.get("State", "ENABLED") == "ENABLED",
                        targets=tuple(targets),
                    )
                )
        return out

    # -- input -----------------------------------------------------------------------------

    def put(self, event: dict[str, Any]) -> None:
        """Any AWS-shaped event; matched against every enabled rule with a pattern."""
        self._enqueue(_Item(event))

    def _enqueue(self, item: _Item) -> None:
        copies, window = self.delivery.copies, self.delivery.reorder_window
        if copies == 1 and window <= 0:
            self._queue.put(item)
            return
        with self._delayed_lock:
            for _ in range(copies):
                due = time.monotonic() + self._random.uniform(0.0, window)
                heapq.heappush(self._delayed, (due, next(self._order), item))
            self._delayed_lock.notify_all()

    def _release(self) -> None:
        """Move each delayed delivery to the queue when it is due."""
        while self._worker is not None:
            with self._delayed_lock:
                if not self._delayed:
                    self._delayed_lock.wait(0.5)
                    continue
                due, _, item = self._delayed[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._delayed_lock.wait(min(wait, 0.5))
                    continue
                heapq.heappop(self._delayed)
                # Queued before it leaves the heap's count, so drain never sees a gap.
                self._queue.put(item)
                self._delayed_lock.notify_all()

    def run_schedule(self, rule_name: str, now: float | None = None) -> None:
        """Fire a schedule rule's targets now with a `Scheduled Event`."""
        rule = self.rule(rule_name)
        if not rule.schedule or not rule.enabled:
            raise KeyError(f"{rule_name!r} is not an enabled schedule rule")
        when = time.time() if now is None else now
        self._last_fired[rule_name] = when
        moment = dt.datetime.fromtimestamp(when, dt.UTC)
        self._enqueue(_Item(scheduled_event(rule_arn=rule.arn, when=moment), rule))

    def tick(self, now: float | None = None) -> list[str]:
        """Fire every rate() schedule whose period has elapsed since it last fired."""
        now = time.time() if now is None else now
        fired = []
        for rule in self.rules():
            period = _period(rule.schedule)
            if not rule.enabled or period is None:
                continue
            if now - self._last_fired.get(rule.name, self._started) >= period:
                self.run_schedule(rule.name, now)
                fired.append(rule.name)
        return fired

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait until every queued event is delivered and every invocation it caused ended."""
        deadline = time.monotonic() + timeout
        while True:
            with self._delayed_lock:
                while self._delayed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._delayed_lock.wait(min(remaining, 0.1))
            with self._queue.all_tasks_done:
                while self._queue.unfinished_tasks:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._worker is None:
                        return False
                    self._queue.all_tasks_done.wait(remaining)
            if not self.lambdas.drain(max(0.0, deadline - time.monotonic())):
                return False
            with self._delayed_lock:
                if not self._queue.unfinished_tasks and not self._delayed:
                    return True

    # -- delivery --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._deliver(item)
            except Exception as exc:  # noqa: BLE001 - the bus must outlive any one event
                self._record(item.event, [], None, "failed", error=f"{type(exc).__name__}: {exc}")
            finally:
                self._queue.task_done()

    def _matches(self, rule: Rule, event: dict[str, Any]) -> bool:
        if not rule.enabled or rule.pattern is None:
            return False
        return matches(rule.pattern, event)

    def _deliver(self, item: _Item) -> None:
        self.delivered[str(item.event.get("id", ""))] = item.event
        matched = (
            [item.rule] if item.rule else [r for r in self.rules() if self._matches(r, item.event)]
        )
        if not matched:
            self._record(item.event, [], None, "unmatched")
        for rule in matched:
            for target in rule.targets:
                self._to_target(item.event, rule, target)

    def _to_target(self, event: dict[str, Any], rule: Rule, target: Target) -> None:
        entry = self._record(event, [rule.name], target.name, "queued")
        error = ""
        for attempt in range(1, target.max_attempts + 1):
            entry.attempts = attempt
            try:
                self._send(event, target, entry)
                return
            except Exception as exc:  # noqa: BLE001 - EventBridge retries any failed delivery
                error = f"{type(exc).__name__}: {exc}"
        self._dead_letter(event, rule, target, entry, error)

    def _send(self, event: dict[str, Any], target: Target, entry: TimelineEntry) -> None:
        if target.kind == "lambda":

            def done(invocation: Any, outcome: str, detail: Any) -> None:
                entry.outcome = outcome
                entry.attempts = invocation.attempts
                entry.duration = round(time.monotonic() - entry.started, 3)
                if outcome == "ok":
                    entry.result = detail
                else:
                    entry.error = f"{detail.get('errorType')}: {detail.get('errorMessage')}"

            self.lambdas.invoke_async(target.name, event, on_done=done)
        elif target.kind == "pipeline":
            sagemaker = self.cloud.client("sagemaker", self._as(target.role_arn))
            response = sagemaker.start_pipeline_execution(
                PipelineName=target.name,
                PipelineParameters=[{"Name": k, "Value": v} for k, v in target.pipeline_parameters],
                ClientRequestToken=f"{event['id']}"[:128],
            )
            entry.outcome, entry.result = "ok", response["PipelineExecutionArn"]
            entry.duration = round(time.monotonic() - entry.started, 3)
        elif target.kind == "sqs":
            sqs = self.cloud.client("sqs")
            url = sqs.get_queue_url(QueueName=target.name)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
            entry.outcome = "ok"
        else:
            raise ValueError(f"target type of {target.arn} is not supported locally")

    def _as(self, role_arn: str | None) -> Any:
        """Credentials of a target's role, as EventBridge assumes it."""
        from emulator.cloud import USER

        if role_arn is None:
            return USER
        if role_arn not in self._credentials:
            self._credentials[role_arn] = self.cloud.assume_role(role_arn, "events")
        return self._credentials[role_arn]

    def dead_letter_refusal(self, queue_arn: str, rule_arn: str) -> str | None:
        """Why the queue's policy refuses EventBridge's send for this rule, or None: the
        service principal sends with the rule as aws:SourceArn
        (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions)."""
        if self.authorizer is None:
            return None
        return self.authorizer.service_refusal(
            "events.amazonaws.com", "sqs:SendMessage", queue_arn, source_arn=rule_arn
        )

    def _dead_letter(
        self, event: dict[str, Any], rule: Rule, target: Target, entry: TimelineEntry, error: str
    ) -> None:
        entry.duration = round(time.monotonic() - entry.started, 3)
        entry.error = error
        if target.dead_letter_arn is None:
            entry.outcome = "failed"
            return
        code, _, message = error.partition(": ")
        attributes = {
            "RULE_ARN": rule.arn,
            "TARGET_ARN": target.arn,
            "ERROR_CODE": code,
            "ERROR_MESSAGE": message[:1000] or code,
        }
        refused = self.dead_letter_refusal(target.dead_letter_arn, rule.arn)
        if refused is not None:
            # EventBridge drops an event its dead-letter queue refuses
            # (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
            entry.outcome = "dropped"
            entry.error = f"{error}; dead-letter queue refused: {refused}"
            log.warning(
                "bus.dead_letter_refused",
                extra={"rule": rule.arn, "queue": target.dead_letter_arn, "error": refused},
            )
            return
        sqs = self.cloud.client("sqs")
        url = sqs.get_queue_url(QueueName=target.dead_letter_arn.rsplit(":", 1)[-1])["QueueUrl"]
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps(event),
            MessageAttributes={
                k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
            },
        )
        entry.outcome = "dead-lettered"

    def _record(
        self,
        event: dict[str, Any],
        rules: list[str],
        target: str | None,
        outcome: str,
        *,
        error: str | None = None,
    ) -> TimelineEntry:
        entry = TimelineEntry(
            time=iso(dt.datetime.now(dt.UTC)),
            event_id=str(event.get("id", "")),
            source=str(event.get("source", "")),
            detail_type=str(event.get("detail-type", "")),
            rules=rules,
            target=target,
            outcome=outcome,
            duration=0.0,
            error=error,
        )
        self.timeline.append(entry)
        return entry


def matches(pattern: str, event: dict[str, Any]) -> bool:
    """Whether an event matches an EventBridge pattern (its JSON text)."""
    return bool(EventPattern.load(pattern).matches_event(event))


def _period(expression: str | None) -> float | None:
    match = _RATE.match(expression or "")
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]
