"""Typed inputs of the two pipeline factories. The project config produces them
(`infra/contracts.py`), for the stack and `python -m pipelines.*` alike, so the fields the config
sets have no defaults here: a second default could only disagree with the config's.

Nothing here is account- or region-specific: those values are `${Name}` placeholders in the
definitions (see PLACEHOLDERS in the factory packages), filled in by the CDK stack.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.metrics import greater_is_better
from pipelines.model_spec import ModelSpec
from pipelines.schema import DatasetSchema
from pipelines.steps.condition import Gate
from pipelines.steps.evaluate import check_metric

ApprovalStatus = Literal["PendingManualApproval", "Approved"]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pipeline_name: str = Field(pattern=r"^[A-Za-z0-9](-*[A-Za-z0-9]){0,255}$")
    dataset: DatasetSchema
    processing_instance_type: str
    processing_instance_count: int = Field(ge=1)
    default_threshold: float = Field(gt=0.0, le=1.0)

    @property
    def drift_thresholds(self) -> dict[str, float]:
        """Per-feature overrides from the schema; the others use default_threshold."""
        return {
            f.name: f.drift_threshold
            for f in self.dataset.features
            if f.drift_threshold is not None
        }


class TrainingPipelineSettings(_Settings):
    metric_name: str
    metric_threshold: float
    tolerance: float = Field(ge=0.0)
    approval_status: ApprovalStatus
    training_instance_type: str
    training_instance_count: int = Field(ge=1)
    inference_instance_types: tuple[str, ...] = Field(min_length=1)
    # The config's model section: a built-in algorithm or the user's entry point.
    model: ModelSpec
    # What the threshold is checked against: the metric or its confidence bound (condition.py).
    metric_gate: Gate
    metric_confidence: float = Field(gt=0.5, lt=1.0)
    split_seed: int = 0
    validation_fraction: float = Field(default=0.15, gt=0.0, lt=0.5)
    test_fraction: float = Field(default=0.15, gt=0.0, lt=0.5)
    # The config's data.max_decompression_ratio and data.max_uncompressed_mb, for Validate.
    max_decompression_ratio: float = Field(gt=1.0)
    max_uncompressed_mb: int = Field(ge=1)
    # Where Validate puts the objects it rejects (the data bucket's quarantine prefix).
    quarantine_prefix: str = Field(pattern=r"^[A-Za-z0-9_.\-/]+/$")

    @model_validator(mode="after")
    def _check(self) -> TrainingPipelineSettings:
        check_metric(self.metric_name, self.dataset)
        return self

    @property
    def metric_greater_is_better(self) -> bool:
        return greater_is_better(self.metric_name)


class MonitoringPipelineSettings(_Settings):
    capture_window_minutes: int = Field(default=60, ge=1, le=24 * 60)
    # the drift decision (pipelines/drift/decision.py): below min_window_rows nothing is decided
    drift_confidence: float = Field(ge=0.5, lt=1.0)
    min_window_rows: int = Field(ge=1)
    # The data bucket's prefixes the step reads: captured traffic and ground-truth labels, each
    # with one folder per endpoint.
    capture_prefix: str = Field(pattern=r"^[A-Za-z0-9_.\-/]+/$")
    ground_truth_prefix: str = Field(pattern=r"^[A-Za-z0-9_.\-/]+/$")
    # Model quality from ground truth; an empty metric leaves it out.
    model_quality_metric: str
    lookback_hours: int = Field(ge=1, le=14 * 24)
    min_labelled_rows: int = Field(ge=1)
    data_quality_min_rows: int = Field(ge=1)
