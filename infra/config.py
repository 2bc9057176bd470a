"""Typed settings of one deployment of the stack. Only `infra/app.py` decides where they come from.

A config that does not validate stops synthesis with a message naming each bad key, so a typo
never turns into a half-deployed stack.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipelines.schema import DatasetSchema

# Metrics the Evaluate step reports, and which way is better.
METRIC_DIRECTIONS: dict[str, dict[str, bool]] = {
    "classification": {
        "accuracy": True,
        "f1": True,
        "roc_auc": True,
        "precision": True,
        "recall": True,
    },
    "regression": {"r2": True, "rmse": False, "mae": False},
}


class ConfigError(ValueError):
    """The config file is missing, unreadable or invalid; the message names every bad key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricConfig(_Strict):
    name: str
    threshold: float
    # A new model may be worse than the live one by at most this much (absolute metric units).
    tolerance: float = Field(default=0.01, ge=0.0)


class DataConfig(_Strict):
    allowed_extensions: tuple[str, ...] = (".csv",)
    allow_gzip: bool = True
    max_object_mb: int = Field(default=512, ge=1, le=5 * 1024 * 1024)
    quarantine_expiry_days: int = Field(default=90, ge=1)
    capture_expiry_days: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _dotted(self) -> DataConfig:
        bad = [e for e in self.allowed_extensions if not e.startswith(".")]
        if bad:
            raise ValueError(f"allowed_extensions: must start with a dot: {bad}")
        return self


class DriftConfig(_Strict):
    default_threshold: float = Field(default=0.1, gt=0.0, le=1.0)
    # The drift_score alarm: share of drifted features that triggers a retrain.
    score_threshold: float = Field(default=0.3, gt=0.0, le=1.0)
    evaluation_periods: int = Field(default=1, ge=1, le=24)
    schedule: str = Field(default="rate(1 hour)", pattern=r"^(rate|cron)\(.+\)$")


class RetrainConfig(_Strict):
    cooldown_hours: float = Field(default=6.0, ge=0.0)
    daily_cap: int = Field(default=3, ge=1)
    # Periodic retraining, e.g. "rate(7 days)"; None leaves the schedule out.
    schedule: str | None = Field(default=None, pattern=r"^(rate|cron)\(.+\)$")


class ComputeConfig(_Strict):
    processing_instance_type: str = Field(
        default="ml.m5.large", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
    )
    processing_instance_count: int = Field(default=1, ge=1, le=100)
    training_instance_type: str = Field(
        default="ml.m5.large", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
    )
    training_instance_count: int = Field(default=1, ge=1, le=100)
    inference_instance_type: str = Field(
        default="ml.m5.large", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
    )
    inference_instance_count: int = Field(default=1, ge=1, le=100)


class DeploymentConfig(_Strict):
    canary_percent: int = Field(default=10, ge=1, le=99)
    canary_wait_minutes: int = Field(default=10, ge=0, le=60)
    capture_sampling_percent: int = Field(default=100, ge=1, le=100)
    latency_p99_ms: int = Field(default=500, ge=1)
    max_5xx_per_minute: int = Field(default=5, ge=1)


class FunctionsConfig(_Strict):
    # Reserved concurrency needs spare account concurrency; a new account with a quota of 10
    # cannot reserve any, so it can be switched off.
    reserve_concurrency: bool = True
    data_arrival_concurrency: int = Field(default=5, ge=1, le=100)


class StackConfig(_Strict):
    project_name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,19}$")
    stage: Literal["dev", "prod"]
    dataset: DatasetSchema
    metric: MetricConfig
    approval_mode: Literal["manual", "automatic"] = "manual"
    data: DataConfig = DataConfig()
    drift: DriftConfig = DriftConfig()
    retrain: RetrainConfig = RetrainConfig()
    compute: ComputeConfig = ComputeConfig()
    deployment: DeploymentConfig = DeploymentConfig()
    functions: FunctionsConfig = FunctionsConfig()
    notification_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    powertools_layer_version: int = Field(default=27, ge=1)

    @model_validator(mode="after")
    def _metric_fits_problem(self) -> StackConfig:
        known = METRIC_DIRECTIONS[self.dataset.problem_type]
        if self.metric.name not in known:
            raise ValueError(
                f"metric.name: {self.metric.name!r} is not a {self.dataset.problem_type} metric; "
                f"choose one of {sorted(known)}"
            )
        return self

    @property
    def prefix(self) -> str:
        """Prefix of every physical name, so dev and prod live side by side in one account."""
        return f"{self.project_name}-{self.stage}"

    @property
    def metric_greater_is_better(self) -> bool:
        return METRIC_DIRECTIONS[self.dataset.problem_type][self.metric.name]


_KEYED_MESSAGE = re.compile(r"^Value error, (?P<key>[a-z_][a-z0-9_.]*): (?P<msg>.*)$", re.DOTALL)


def _describe(error: ValidationError) -> str:
    """One line per problem, each starting with the full dotted key. Cross-field checks raise
    "<key>: <message>" so that they name their key like field checks do."""
    lines = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        message = item["msg"]
        keyed = _KEYED_MESSAGE.match(message)
        if keyed:
            loc.append(keyed["key"])
            message = keyed["msg"]
        lines.append(f"  {'.'.join(loc) or '(top level)'}: {message}")
    return "\n".join(lines)


def parse_config(raw: dict, *, source: str = "config") -> StackConfig:
    try:
        return StackConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{source}: invalid config\n{_describe(error)}") from None


def load_config(path: Path) -> StackConfig:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config must be a JSON object")
    return parse_config(raw, source=str(path))
