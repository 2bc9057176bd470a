"""EventBridge: `PutEvents` goes to the runtime's bus (moto's delivers only to SQS and Logs),
`TestEventPattern` (which moto lacks) is answered by the bus's matcher; rules and targets stay in
moto, and the bus re-reads them whenever one changes."""

from __future__ import annotations

import json
import uuid

from emulator.aws_events import put_event
from emulator.bus import EventBus, matches
from emulator.front import Front, Reply, ServiceError, json_reply
from emulator.requests import AwsRequest

_RULE_CHANGES = (
    "PutRule",
    "DeleteRule",
    "EnableRule",
    "DisableRule",
    "PutTargets",
    "RemoveTargets",
)


class EventsProvider:
    def __init__(self, cloud: object, bus: EventBus) -> None:
        self.cloud = cloud
        self.bus = bus

    def install(self, front: Front) -> None:
        front.own("events", "PutEvents", self.put_events)
        front.own("events", "TestEventPattern", self.test_event_pattern)
        for operation in _RULE_CHANGES:
            front.observe("events", operation, lambda request, reply: self.bus.invalidate())

    def put_events(self, request: AwsRequest) -> Reply:
        entries = []
        failed = 0
        for entry in request.params.get("Entries", []):
            bus = entry.get("EventBusName") or "default"
            missing = [k for k in ("Source", "DetailType", "Detail") if not entry.get(k)]
            if missing or bus.rsplit("/", 1)[-1] != "default":
                failed += 1
                reason = (
                    f"Parameter(s) {', '.join(missing)} must be specified"
                    if missing
                    else f"Event bus {bus} does not exist locally (only the default bus)"
                )
                entries.append({"ErrorCode": "InvalidArgument", "ErrorMessage": reason})
                continue
            try:
                event = put_event(
                    entry,
                    account=self.cloud.account,
                    region=self.cloud.region,  # type: ignore[attr-defined]
                )
            except ValueError:
                failed += 1
                entries.append(
                    {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
                )
                continue
            event["id"] = str(uuid.uuid4())
            self.bus.put(event)
            entries.append({"EventId": event["id"]})
        return json_reply({"FailedEntryCount": failed, "Entries": entries})

    def test_event_pattern(self, request: AwsRequest) -> Reply:
        try:
            event = json.loads(request.params["Event"])
            json.loads(request.params["EventPattern"])
        except ValueError as exc:
            raise ServiceError(
                "InvalidEventPatternException", f"Event pattern is not valid: {exc}"
            ) from exc
        return json_reply({"Result": matches(request.params["EventPattern"], event)})
