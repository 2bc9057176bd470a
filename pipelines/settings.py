"""Typed inputs of the two pipeline factories, and how the project config maps onto them.

Nothing here is account- or region-specific: those values are `${Name}` placeholders in the
definitions (see PLACEHOLDERS in the factory packages), filled in by the CDK stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.limits import DEFAULT_LIMITS
from pipelines.model_spec import ModelSpec
from pipelines.schema import DatasetSchema
from pipelines.steps.condition import Gate
from pipelines.steps.evaluate import check_metric, greater_is_better

ApprovalStatus = Literal["PendingManualApproval", "Approved"]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pipeline_name: str = Field(pattern=r"^[A-Za-z0-9](-*[A-Za-z0-9]){0,255}$")
    dataset: DatasetSchema
    processing_instance_type: str = "ml.m5.large"
    processing_instance_count: int = Field(default=1, ge=1)
    default_threshold: float = Field(default=0.1, gt=0.0, le=1.0)

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
    greater_is_better: bool | None = None  # None: from the metric (rmse, log_loss: lower)
    metric_threshold: float
    tolerance: float = Field(default=0.0, ge=0.0)
    approval_status: ApprovalStatus = "PendingManualApproval"
    training_instance_type: str = "ml.m5.large"
    training_instance_count: int = Field(default=1, ge=1)
    inference_instance_types: tuple[str, ...] = ("ml.t2.medium", "ml.m5.large")
    # The config's model section: a built-in algorithm or the user's entry point.
    model: ModelSpec = ModelSpec()
    # What the threshold is checked against: the metric or its confidence bound (condition.py).
    metric_gate: Gate = "point"
    metric_confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    split_seed: int = 0
    validation_fraction: float = Field(default=0.15, gt=0.0, lt=0.5)
    test_fraction: float = Field(default=0.15, gt=0.0, lt=0.5)
    # The config's data.max_decompression_ratio and data.max_uncompressed_mb, for Validate.
    max_decompression_ratio: float = Field(default=DEFAULT_LIMITS.max_decompression_ratio, gt=1.0)
    max_uncompressed_mb: int = Field(default=DEFAULT_LIMITS.max_uncompressed_mb, ge=1)
    # Where Validate puts the objects it rejects (the data bucket's quarantine prefix).
    quarantine_prefix: str = Field(default="quarantine/", pattern=r"^[A-Za-z0-9_.\-/]+/$")

    @model_validator(mode="after")
    def _check(self) -> TrainingPipelineSettings:
        check_metric(self.metric_name, self.dataset)
        return self

    @property
    def metric_greater_is_better(self) -> bool:
        if self.greater_is_better is None:
            return greater_is_better(self.metric_name)
        return self.greater_is_better


class MonitoringPipelineSettings(_Settings):
    capture_window_minutes: int = Field(default=60, ge=1, le=24 * 60)
    # the drift decision (pipelines/drift/decision.py): below min_window_rows nothing is decided
    drift_confidence: float = Field(default=0.99, ge=0.5, lt=1.0)
    min_window_rows: int = Field(default=30, ge=1)
    # Model quality from ground truth; an empty metric leaves it out.
    model_quality_metric: str = ""
    lookback_hours: int = Field(default=24, ge=1, le=14 * 24)
    min_labelled_rows: int = Field(default=100, ge=1)
    data_quality_min_rows: int = Field(default=100, ge=1)


def _prefix(config: Mapping[str, Any]) -> str:
    return f"{config['project_name']}-{config['stage']}"


def training_settings_from_config(config: Mapping[str, Any]) -> TrainingPipelineSettings:
    """The project config (config/<stage>.json, read as plain JSON) to training settings."""
    compute = config.get("compute", {})
    data = config.get("data", {})
    metric = config["metric"]
    inference_type = compute.get("inference_instance_type", "ml.t2.medium")
    return TrainingPipelineSettings(
        pipeline_name=f"{_prefix(config)}-training",
        dataset=DatasetSchema.model_validate(config["dataset"]),
        metric_name=metric["name"],
        greater_is_better=metric.get("greater_is_better"),
        metric_threshold=float(metric["threshold"]),
        tolerance=float(metric.get("tolerance", 0.0)),
        approval_status=(
            "Approved" if config.get("approval_mode") == "automatic" else "PendingManualApproval"
        ),
        processing_instance_type=compute.get("processing_instance_type", "ml.m5.large"),
        processing_instance_count=int(compute.get("processing_instance_count", 1)),
        training_instance_type=compute.get("training_instance_type", "ml.m5.large"),
        training_instance_count=int(compute.get("training_instance_count", 1)),
        inference_instance_types=tuple(dict.fromkeys([inference_type, "ml.m5.large"])),
        default_threshold=float(config.get("drift", {}).get("default_threshold", 0.1)),
        model=ModelSpec.model_validate(config.get("model", {})),
        metric_gate=metric.get("gate", "point"),
        metric_confidence=float(metric.get("confidence", 0.95)),
        max_decompression_ratio=float(
            data.get("max_decompression_ratio", DEFAULT_LIMITS.max_decompression_ratio)
        ),
        max_uncompressed_mb=int(
            data.get("max_uncompressed_mb", DEFAULT_LIMITS.max_uncompressed_mb)
        ),
    )


def monitoring_settings_from_config(config: Mapping[str, Any]) -> MonitoringPipelineSettings:
    compute = config.get("compute", {})
    drift = config.get("drift", {})
    quality = config.get("model_quality", {})
    return MonitoringPipelineSettings(
        pipeline_name=f"{_prefix(config)}-monitoring",
        dataset=DatasetSchema.model_validate(config["dataset"]),
        processing_instance_type=compute.get("processing_instance_type", "ml.m5.large"),
        processing_instance_count=int(compute.get("processing_instance_count", 1)),
        default_threshold=float(drift.get("default_threshold", 0.1)),
        capture_window_minutes=int(drift.get("window_minutes", 60)),
        drift_confidence=float(drift.get("confidence", 0.99)),
        min_window_rows=int(drift.get("min_window_rows", 30)),
        model_quality_metric=quality.get("metric") or config["metric"]["name"],
        lookback_hours=int(quality.get("lookback_hours", 24)),
        min_labelled_rows=int(quality.get("min_labelled_rows", 100)),
        data_quality_min_rows=int(config.get("data_quality", {}).get("min_rows", 100)),
    )
