"""Typed models of the EventBridge events the functions receive (only the fields we use).

They extend Powertools' EventBridgeModel so the envelope (id, time, source, detail-type) is
validated the same way everywhere; a malformed or truncated event fails validation and is
ignored with its reason rather than crashing the function.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser.models.event_bridge import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field


class _Detail(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class S3Bucket(_Detail):
    name: str = Field(min_length=1)


class S3Object(_Detail):
    key: str = Field(min_length=1)
    size: int | None = Field(default=None, ge=0)
    etag: str | None = None
    version_id: str | None = Field(default=None, alias="version-id")
    sequencer: str | None = None


class ObjectCreatedDetail(_Detail):
    bucket: S3Bucket
    object: S3Object
    reason: str | None = None


class ObjectCreatedEvent(EventBridgeModel):
    detail: ObjectCreatedDetail


class PipelineExecutionDetail(_Detail):
    pipeline_arn: str = Field(alias="pipelineArn")
    pipeline_execution_arn: str = Field(alias="pipelineExecutionArn")
    status: str = Field(alias="currentPipelineExecutionStatus")
    display_name: str = Field(default="", alias="pipelineExecutionDisplayName")


class PipelineExecutionEvent(EventBridgeModel):
    detail: PipelineExecutionDetail


class ModelPackageDetail(_Detail):
    group: str = Field(alias="ModelPackageGroupName")
    version: int | None = Field(default=None, alias="ModelPackageVersion")
    arn: str = Field(alias="ModelPackageArn")
    approval_status: str = Field(alias="ModelApprovalStatus")
    # Present on updates only: which fields changed (an edit of the description fires too).
    updated_fields: list[str] | None = Field(default=None, alias="UpdatedModelPackageFields")


class ModelPackageEvent(EventBridgeModel):
    detail: ModelPackageDetail


class EndpointDetail(_Detail):
    endpoint_name: str = Field(alias="EndpointName")
    status: str = Field(alias="EndpointStatus")
    config_name: str = Field(default="", alias="EndpointConfigName")
    failure_reason: str = Field(default="", alias="FailureReason")


class EndpointEvent(EventBridgeModel):
    detail: EndpointDetail


class AlarmState(_Detail):
    value: str
    reason: str = ""


class AlarmDetail(_Detail):
    alarm_name: str = Field(alias="alarmName")
    state: AlarmState


class AlarmEvent(EventBridgeModel):
    detail: AlarmDetail


class ScheduledEvent(EventBridgeModel):
    detail: dict[str, Any] = Field(default_factory=dict)
