"""Lambda entry point: functions.deploy.handler.lambda_handler."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from functions.deploy.logic import on_endpoint_status, on_package_change, on_schedule
from functions.shared.events import EndpointEvent, ModelPackageEvent, ScheduledEvent
from functions.shared.observability import logger, metrics, tracer
from functions.shared.outcomes import ignored
from functions.shared.settings import DeploySettings, settings_for

_MODELS = {
    "SageMaker Model Package State Change": (ModelPackageEvent, on_package_change),
    "SageMaker Endpoint State Change": (EndpointEvent, on_endpoint_status),
    "Scheduled Event": (ScheduledEvent, on_schedule),
}


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = settings_for(DeploySettings)
    detail_type = event.get("detail-type") if isinstance(event, dict) else None
    if detail_type not in _MODELS:
        return ignored("unsupported_event", detail_type=str(detail_type))
    model, logic = _MODELS[detail_type]
    try:
        parsed = model.model_validate(event)
    except ValidationError as exc:
        return ignored("malformed_event", errors=exc.errors(include_url=False, include_input=False))
    return logic(parsed, settings)
