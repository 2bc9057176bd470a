"""Lambda entry point: functions.pipeline_events.handler.lambda_handler."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from functions.pipeline_events.logic import on_execution_status
from functions.shared.events import PipelineExecutionEvent
from functions.shared.observability import logger, metrics, tracer
from functions.shared.outcomes import ignored
from functions.shared.settings import PipelineEventsSettings, settings_for


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = settings_for(PipelineEventsSettings)
    try:
        parsed = PipelineExecutionEvent.model_validate(event)
    except ValidationError as exc:
        return ignored("malformed_event", errors=exc.errors(include_url=False, include_input=False))
    # Pipeline ARNs are lower case in events; names are matched without case.
    pipeline = parsed.detail.pipeline_arn.rsplit(":pipeline/", 1)[-1]
    if pipeline.lower() != settings.training_pipeline_name.lower():
        return ignored("other_pipeline", pipeline_arn=parsed.detail.pipeline_arn)
    return on_execution_status(
        execution_arn=parsed.detail.pipeline_execution_arn,
        status=parsed.detail.status,
        event_id=parsed.id,
        settings=settings,
    )
