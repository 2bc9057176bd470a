"""Each function's environment contract: one typed model per function, written by the stack
(`to_env()`, from `infra/contracts.py`) and read back by the same model in the handler.

Each function validates its settings once, on its first invocation, through `settings_for`; a
missing or invalid variable fails that invocation with an error that names the variable instead of
a KeyError deep inside the logic. Nothing is read at import, so importing a handler is cheap and
does not depend on the environment of whoever imported it first.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

NonEmpty = Annotated[str, Field(min_length=1)]
Positive = Annotated[int, Field(gt=0)]


def _from_json(value: Any) -> Any:
    """A list variable is JSON text in the environment, a list when the stack builds it."""
    return json.loads(value) if isinstance(value, str | bytes) else value


JsonList = Annotated[tuple[NonEmpty, ...], BeforeValidator(_from_json)]
# Marks a variable the stack leaves unset: a safe default an operator may override.
TUNABLE = {"tunable": True}


class SettingsError(RuntimeError):
    """Raised at cold start when the function's environment is incomplete or invalid."""


class FunctionSettings(BaseModel):
    # Fields are declared by their environment variable name (alias) so errors name the variable.
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    # Read by Powertools itself (Logger, Tracer, Metrics); declared so the stack sets them from
    # here and a function without its metrics namespace fails naming it.
    powertools_service_name: NonEmpty = Field(alias="POWERTOOLS_SERVICE_NAME")
    powertools_metrics_namespace: NonEmpty = Field(alias="POWERTOOLS_METRICS_NAMESPACE")
    powertools_log_level: NonEmpty = Field(alias="POWERTOOLS_LOG_LEVEL", default="INFO")
    state_table: NonEmpty = Field(alias="STATE_TABLE")
    topic_arn: NonEmpty = Field(alias="TOPIC_ARN")

    @classmethod
    def variables(cls, *, tunable: bool | None = None) -> list[str]:
        """The variables this model reads; only the tunable ones, or only the others."""
        return [
            field.alias or name
            for name, field in cls.model_fields.items()
            if tunable is None or _is_tunable(field.json_schema_extra) == tunable
        ]

    def to_env(self) -> dict[str, str]:
        """The Lambda environment that reads back as this model: every variable but the
        tunable ones, lists as JSON, booleans as `true`/`false`."""
        return {
            field.alias or name: _env_value(getattr(self, name))
            for name, field in type(self).model_fields.items()
            if not _is_tunable(field.json_schema_extra)
        }


def _is_tunable(extra: Any) -> bool:
    return isinstance(extra, dict) and bool(extra.get("tunable"))


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return json.dumps(list(value))
    return str(value)


class _TrainingSettings(FunctionSettings):
    """What every function that may start the training pipeline needs."""

    training_pipeline_name: NonEmpty = Field(alias="TRAINING_PIPELINE_NAME")
    data_bucket: NonEmpty = Field(alias="DATA_BUCKET")
    artifacts_bucket: NonEmpty = Field(alias="ARTIFACTS_BUCKET")
    incoming_prefix: NonEmpty = Field(alias="INCOMING_PREFIX", default="incoming/")
    # A guard older than this never blocks a new run, even when SageMaker cannot be asked
    # about the guarded execution.
    guard_max_age_seconds: Positive = Field(
        alias="GUARD_MAX_AGE_SECONDS", default=172_800, json_schema_extra=TUNABLE
    )

    @property
    def input_data_uri(self) -> str:
        return f"s3://{self.data_bucket}/{self.incoming_prefix}"


class DataArrivalSettings(_TrainingSettings):
    quarantine_prefix: NonEmpty = Field(alias="QUARANTINE_PREFIX", default="quarantine/")
    schema_columns: JsonList = Field(alias="SCHEMA_COLUMNS")
    allowed_extensions: JsonList = Field(alias="ALLOWED_EXTENSIONS")
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
    drift_alarm_names: JsonList = Field(alias="DRIFT_ALARM_NAMES")
    retrain_cooldown_seconds: Annotated[int, Field(ge=0)] = Field(alias="RETRAIN_COOLDOWN_SECONDS")
    retrain_daily_cap: Annotated[int, Field(ge=0)] = Field(alias="RETRAIN_DAILY_CAP")
    # retrain.labelled_traffic: a retrain also trains on the endpoint's captured requests of
    # the last this many days that have a ground-truth label; 0 is off.
    labelled_traffic_days: Annotated[int, Field(ge=0)] = Field(alias="LABELLED_TRAFFIC_DAYS")
    # The endpoint's folders: capture/<endpoint>/ and ground-truth/<endpoint>/.
    labelled_capture_prefix: NonEmpty = Field(alias="LABELLED_CAPTURE_PREFIX")
    labelled_ground_truth_prefix: NonEmpty = Field(alias="LABELLED_GROUND_TRUTH_PREFIX")


class DeploySettings(FunctionSettings):
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
    rollback_alarm_names: JsonList = Field(alias="ROLLBACK_ALARM_NAMES")
    # SageMaker's own bounds; the execution timeout is computed from the waits.
    termination_wait_seconds: Annotated[int, Field(ge=0, le=3600)] = Field(
        alias="TERMINATION_WAIT_SECONDS", default=300, json_schema_extra=TUNABLE
    )
    monitoring_pipeline_name: NonEmpty = Field(alias="MONITORING_PIPELINE_NAME")


S = TypeVar("S", bound=FunctionSettings)


def load_settings(model: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Validate `model` from the environment; raise SettingsError naming each bad variable."""
    env = os.environ if environ is None else environ
    try:
        return model.model_validate({name: env[name] for name in model.variables() if name in env})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"{model.__name__}: invalid environment: {problems}") from None


@functools.cache
def settings_for(model: type[S]) -> S:
    """The function's settings, validated from its environment once per container."""
    return load_settings(model)
