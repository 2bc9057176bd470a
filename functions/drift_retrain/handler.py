"""Lambda entry point: functions.drift_retrain.handler.lambda_handler."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from functions.drift_retrain.logic import on_alarm, retrain
from functions.shared.events import AlarmEvent, ScheduledEvent
from functions.shared.observability import logger, metrics, tracer
from functions.shared.outcomes import ignored
from functions.shared.settings import DriftRetrainSettings, settings_for
from functions.shared.training import Trigger


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = settings_for(DriftRetrainSettings)
    detail_type = event.get("detail-type") if isinstance(event, dict) else None
    try:
        if detail_type == "CloudWatch Alarm State Change":
            return on_alarm(AlarmEvent.model_validate(event), settings)
        if detail_type == "Scheduled Event":
            tick = ScheduledEvent.model_validate(event)
            return retrain(Trigger(event_id=tick.id, event_type="schedule"), settings, "schedule")
    except ValidationError as exc:
        return ignored("malformed_event", errors=exc.errors(include_url=False, include_input=False))
    return ignored("unsupported_event", detail_type=str(detail_type))
