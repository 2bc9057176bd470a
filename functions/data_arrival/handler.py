"""Lambda entry point: functions.data_arrival.handler.lambda_handler."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from functions.data_arrival.logic import process_event
from functions.shared.events import ObjectCreatedEvent
from functions.shared.observability import logger, metrics, tracer
from functions.shared.outcomes import ignored
from functions.shared.settings import DataArrivalSettings, settings_for


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = settings_for(DataArrivalSettings)
    try:
        parsed = ObjectCreatedEvent.model_validate(event)
    except ValidationError as exc:
        return ignored("malformed_event", errors=exc.errors(include_url=False, include_input=False))
    return process_event(parsed, settings, context)
