"""Typed settings read from the Lambda environment (names from docs/contracts.md).

Each function validates its settings once, on its first invocation, through `settings_for`; a
missing or invalid variable fails that invocation with an error that names the variable instead of
a KeyError deep inside the logic. Nothing is read at import, so importing a handler is cheap and
does not depend on the environment of whoever imported it first.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, Json, ValidationError

NonEmpty = Annotated[str, Field(min_length=1)]
Positive = Annotated[int, Field(gt=0)]


class SettingsError(RuntimeError):
    """Raised at cold start when the function's environment is incomplete or invalid."""


class _Settings(BaseModel):
    # Fields are declared by their environment variable name (alias) so errors name the variable.
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    state_table: NonEmpty = Field(alias="STATE_TABLE")
    topic_arn: NonEmpty = Field(alias="TOPIC_ARN")


class _TrainingSettings(_Settings):
    """What every function that may start the training pipeline needs."""

    training_pipeline_name: NonEmpty = Field(alias="TRAINING_PIPELINE_NAME")
    data_bucket: NonEmpty = Field(alias="DATA_BUCKET")
    artifacts_bucket: NonEmpty = Field(alias="ARTIFACTS_BUCKET")
    incoming_prefix: NonEmpty = Field(alias="INCOMING_PREFIX", default="incoming/")
    # Not in the contract table: optional, with safe defaults. A guard older than this never
    # blocks a new run, even when SageMaker cannot be asked about the guarded execution.
    guard_max_age_seconds: Positive = Field(alias="GUARD_MAX_AGE_SECONDS", default=172_800)

    @property
    def input_data_uri(self) -> str:
        return f"s3://{self.data_bucket}/{self.incoming_prefix}"


class DataArrivalSettings(_TrainingSettings):
    quarantine_prefix: NonEmpty = Field(alias="QUARANTINE_PREFIX", default="quarantine/")
    schema_columns: Json[list[NonEmpty]] = Field(alias="SCHEMA_COLUMNS")
    allowed_extensions: Json[list[NonEmpty]] = Field(alias="ALLOWED_EXTENSIONS")
    allow_gzip: bool = Field(alias="ALLOW_GZIP", default=False)
    max_object_bytes: Positive = Field(alias="MAX_OBJECT_BYTES")
    # What a gzip object may expand to: both bounds hold (data.max_uncompressed_mb and
    # data.max_decompression_ratio in the config).
    max_uncompressed_bytes: Positive = Field(alias="MAX_UNCOMPRESSED_BYTES", default=2 * 1024**3)
    max_decompression_ratio: Positive = Field(alias="MAX_DECOMPRESSION_RATIO", default=100)
    idempotency_ttl_seconds: Positive = Field(alias="IDEMPOTENCY_TTL_SECONDS", default=86_400)


class PipelineEventsSettings(_TrainingSettings):
    model_package_group_name: NonEmpty = Field(alias="MODEL_PACKAGE_GROUP_NAME")


class DriftRetrainSettings(_TrainingSettings):
    # Exact names: a prefix would also match other alarms, such as this function's own errors.
    drift_alarm_names: Json[frozenset[NonEmpty]] = Field(alias="DRIFT_ALARM_NAMES")
    retrain_cooldown_seconds: Annotated[int, Field(ge=0)] = Field(alias="RETRAIN_COOLDOWN_SECONDS")
    retrain_daily_cap: Annotated[int, Field(ge=0)] = Field(alias="RETRAIN_DAILY_CAP")


class DeploySettings(_Settings):
    model_package_group_name: NonEmpty = Field(alias="MODEL_PACKAGE_GROUP_NAME")
    endpoint_name: NonEmpty = Field(alias="ENDPOINT_NAME")
    model_role_arn: NonEmpty = Field(alias="MODEL_ROLE_ARN")
    artifacts_bucket: NonEmpty = Field(alias="ARTIFACTS_BUCKET")
    inference_instance_type: NonEmpty = Field(alias="INFERENCE_INSTANCE_TYPE")
    inference_instance_count: Positive = Field(alias="INFERENCE_INSTANCE_COUNT", default=1)
    capture_s3_uri: NonEmpty = Field(alias="CAPTURE_S3_URI")
    capture_sampling_percent: Annotated[int, Field(ge=0, le=100)] = Field(
        alias="CAPTURE_SAMPLING_PERCENT", default=100
    )
    capture_kms_key_arn: str = Field(alias="CAPTURE_KMS_KEY_ARN", default="")
    canary_percent: Annotated[int, Field(ge=1, le=50)] = Field(alias="CANARY_PERCENT", default=10)
    canary_wait_seconds: Annotated[int, Field(ge=0, le=3600)] = Field(
        alias="CANARY_WAIT_SECONDS", default=300
    )
    rollback_alarm_names: Json[list[NonEmpty]] = Field(alias="ROLLBACK_ALARM_NAMES")
    # Optional: SageMaker's own bounds; the execution timeout is computed from the waits.
    termination_wait_seconds: Annotated[int, Field(ge=0, le=3600)] = Field(
        alias="TERMINATION_WAIT_SECONDS", default=300
    )
    monitoring_pipeline_name: NonEmpty = Field(alias="MONITORING_PIPELINE_NAME")


S = TypeVar("S", bound=_Settings)


def load_settings(model: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Validate `model` from the environment; raise SettingsError naming each bad variable."""
    env = os.environ if environ is None else environ
    names = [field.alias or name for name, field in model.model_fields.items()]
    try:
        return model.model_validate({name: env[name] for name in names if name in env})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"{model.__name__}: invalid environment: {problems}") from None


@functools.cache
def settings_for(model: type[S]) -> S:
    """The function's settings, validated from its environment once per container."""
    return load_settings(model)
