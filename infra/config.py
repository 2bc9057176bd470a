"""Typed settings of one deployment of the stack. Only `infra/app.py` decides where they come from.

A config that does not validate stops synthesis with a message naming each bad key, so a typo
never turns into a half-deployed stack.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from functions.deploy import traffic
from infra import quotas
from infra.assets import REPO_ROOT
from infra.config_checks import aws_problems, raw_aws_problems
from infra.names import PhysicalNames
from infra.schedules import schedule_problem
from pipelines.limits import DEFAULT_LIMITS
from pipelines.metrics import METRICS, SHARE_METRICS
from pipelines.model_spec import ModelSpec
from pipelines.schema import DatasetSchema, dataset_problems
from pipelines.steps.condition import Gate


class ConfigError(ValueError):
    """The config file is missing, unreadable or invalid; the message names every bad key."""


class _Strict(BaseModel):
    # NaN and infinity are valid JSON for Python's reader; no setting here means either.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _raise_all(problems: list[str]) -> None:
    """One error for several problems, one "<key>: <message>" per line (see `_describe`)."""
    if problems:
        raise ValueError("\n".join(problems))


class MetricConfig(_Strict):
    name: str
    threshold: float
    # A new model may be worse than the live one by at most this much (absolute metric units).
    tolerance: float = Field(default=0.01, ge=0.0)
    # The threshold is checked against the metric (point) or the unfavourable bound of its
    # bootstrap confidence interval at this level (lower_bound): pipelines/steps/condition.py.
    gate: Gate = "point"
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)

    @model_validator(mode="after")
    def _in_the_metric_range(self) -> MetricConfig:
        problems = []
        if self.name in SHARE_METRICS:
            if not 0.0 <= self.threshold <= 1.0:
                problems.append(
                    f"threshold: {self.threshold} is outside 0 to 1, the range of {self.name}"
                )
            if self.tolerance > 1.0:
                problems.append(
                    f"tolerance: {self.tolerance} is above 1, the whole range of {self.name}"
                )
        elif self.threshold <= 0.0:
            problems.append(
                f"threshold: {self.threshold} is not above 0: {self.name} is an error that is "
                "never negative, so no model would pass"
            )
        _raise_all(problems)
        return self


# The formats the pipeline's steps read; arrival accepts them plain, and CSV also gzipped.
READABLE_EXTENSIONS = (".csv", ".parquet")
# Deflate cannot expand data more than about 1032 times (zlib's technical details,
# https://www.zlib.net/zlib_tech.html): a larger ratio bounds nothing.
_DEFLATE_MAX_RATIO = 1032


class DataConfig(_Strict):
    allowed_extensions: tuple[str, ...] = Field(default=READABLE_EXTENSIONS, min_length=1)
    allow_gzip: bool = True
    max_object_mb: int = Field(default=512, ge=1, le=5 * 1024 * 1024)
    # What one gzip object may expand to. data_arrival decompresses each gzip object once, in
    # chunks, to count it (the trailer cannot tell); its timeout and CPU (1024 MB, about 0.6
    # vCPU) bound that work, so the absolute bound stays within what it decompresses in time
    # (benchmarks/arrival_gzip).
    max_uncompressed_mb: int = Field(default=DEFAULT_LIMITS.max_uncompressed_mb, ge=1, le=4096)
    max_decompression_ratio: int = Field(
        default=DEFAULT_LIMITS.max_decompression_ratio, ge=2, le=_DEFLATE_MAX_RATIO
    )
    quarantine_expiry_days: int = Field(default=90, ge=1)
    capture_expiry_days: int = Field(default=30, ge=1)

    @field_validator("allowed_extensions")
    @classmethod
    def _readable(cls, extensions: tuple[str, ...]) -> tuple[str, ...]:
        lowered = tuple(dict.fromkeys(e.lower() for e in extensions))
        bad = [e for e in extensions if e.lower() not in READABLE_EXTENSIONS]
        if bad:
            raise ValueError(
                f"{bad} are not formats the pipeline reads; choose from "
                f"{list(READABLE_EXTENSIONS)} (a dot, then the extension; .gz is allow_gzip)"
            )
        return lowered


class DriftConfig(_Strict):
    default_threshold: float = Field(default=0.1, gt=0.0, le=1.0)
    # The drift_score alarm: share of drifted features that triggers a retrain.
    score_threshold: float = Field(default=0.3, gt=0.0, le=1.0)
    evaluation_periods: int = Field(default=1, ge=1, le=24)
    schedule: str = "rate(1 hour)"
    # Windows with fewer captured rows are insufficient_data: no drift metric is published.
    # (pipelines.drift.check.DEFAULT_MIN_ROWS / DEFAULT_CONFIDENCE, kept equal by a test)
    min_window_rows: int = Field(default=30, ge=1)
    # Chance that a window of unchanged traffic raises no drift alarm (docs/drift.md): at most
    # 0.5% of them alarm, so the measured rate stays under 1% with a margin.
    confidence: float = Field(default=0.995, ge=0.5, lt=1.0)

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, expression: str) -> str:
        return _schedule(expression)


class ModelQualityConfig(_Strict):
    """Model quality from the ground-truth labels users upload under
    `ground-truth/<endpoint>/yyyy/mm/dd/hh/` of the data bucket; its alarm retrains."""

    # None: the config's metric (metric.name) and its threshold (metric.threshold).
    metric: str | None = None
    threshold: float | None = None
    # Below this many labelled rows no value is published: the alarm sees missing data.
    min_labelled_rows: int = Field(default=100, ge=1)
    # Predictions of the last lookback_hours are measured, with every label uploaded so far,
    # so a label arriving up to this late still counts in the window of its prediction.
    lookback_hours: int = Field(default=24, ge=1, le=14 * 24)
    evaluation_periods: int = Field(default=1, ge=1, le=24)


class DataQualityConfig(_Strict):
    # Windows with fewer captured rows publish no data-quality metric.
    min_rows: int = Field(default=100, ge=1)
    # The data-quality alarm (notify only): the largest excess, over the training data, of a
    # feature's share of missing, wrong-type, out-of-bounds or unseen values. None: no alarm.
    alarm_threshold: float | None = Field(default=None, gt=0.0, le=1.0)


class LabelledTrafficConfig(_Strict):
    """Retrains started by drift_retrain (an alarm or the schedule) also train on the requests
    the endpoint captured in the last `days` that have a ground-truth label, joined with it
    (README, "Retraining on labelled traffic"). Runs started by uploads train on the accepted
    data only."""

    enabled: bool = False
    days: int = Field(default=14, ge=1, le=365)


class RetrainConfig(_Strict):
    cooldown_hours: float = Field(default=6.0, ge=0.0)
    daily_cap: int = Field(default=3, ge=1)
    # Periodic retraining, e.g. "rate(7 days)"; None leaves the schedule out.
    schedule: str | None = None
    labelled_traffic: LabelledTrafficConfig = LabelledTrafficConfig()

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, expression: str | None) -> str | None:
        return None if expression is None else _schedule(expression)


def _schedule(expression: str) -> str:
    problem = schedule_problem(expression)
    if problem:
        raise ValueError(problem)
    return expression


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

    @field_validator("processing_instance_count")
    @classmethod
    def _processing_runs_on_one_instance(cls, count: int) -> int:
        if count > 1:
            raise ValueError(
                f"{count} instances would each run every processing step on the whole input "
                "(no step shards its input yet, so each instance gets a full replica): keep 1 "
                "and choose a larger processing_instance_type"
            )
        return count

    @field_validator("training_instance_count")
    @classmethod
    def _training_runs_on_one_instance(cls, count: int) -> int:
        if count > 1:
            raise ValueError(
                f"{count} instances would each fit the same model on the same data (the training "
                "script fits one scikit-learn model, it does not train distributed): keep 1 "
                "and choose a larger training_instance_type"
            )
        return count


class DeploymentConfig(_Strict):
    """Blue/green settings. The traffic shifting follows the fleet (functions/deploy/traffic.py):
    a canary of `canary_percent` when the fleet can take one, all at once otherwise; both bake
    for `canary_wait_minutes` under the rollback alarms."""

    canary_percent: int = Field(default=10, ge=1, le=99)
    canary_wait_minutes: int = Field(default=10, ge=0, le=60)
    capture_sampling_percent: int = Field(default=100, ge=1, le=100)
    latency_p99_ms: int = Field(default=500, ge=1)
    max_5xx_per_minute: int = Field(default=5, ge=1)

    @field_validator("canary_percent")
    @classmethod
    def _canary_fits_a_fleet(cls, value: int) -> int:
        problem = traffic.canary_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class FunctionsConfig(_Strict):
    # Reserved concurrency comes out of the account's Lambda pool, of which at least 100 must
    # stay unreserved: a new account (a limit of 10) can reserve none. Off by default; to turn
    # it on, state the account's limit (`aws lambda get-account-settings`).
    reserve_concurrency: bool = False
    data_arrival_concurrency: int = Field(default=5, ge=1, le=100)
    account_concurrency_limit: int | None = Field(default=None, ge=1)

    @property
    def reserved(self) -> dict[str, int]:
        """Reserved concurrency per function (FUNCTIONS); the others scale freely."""
        if not self.reserve_concurrency:
            return {}
        # A burst of uploads queues instead of fanning out into parallel guard contention.
        return {"data_arrival": self.data_arrival_concurrency}

    @model_validator(mode="after")
    def _account_can_reserve(self) -> FunctionsConfig:
        if not self.reserve_concurrency:
            return self
        total = sum(self.reserved.values())
        needed = total + quotas.UNRESERVED_CONCURRENCY_MIN
        limit = self.account_concurrency_limit
        if limit is None:
            raise ValueError(
                f"account_concurrency_limit: required when reserve_concurrency is true: "
                f"reserving {total} needs an account limit of at least {needed} (Lambda keeps "
                f"{quotas.UNRESERVED_CONCURRENCY_MIN} unreserved); read yours with `aws lambda "
                "get-account-settings` (AccountLimit.ConcurrentExecutions)"
            )
        if limit < needed:
            raise ValueError(
                f"account_concurrency_limit: {limit} is too low to reserve {total}: Lambda keeps "
                f"{quotas.UNRESERVED_CONCURRENCY_MIN} unreserved, so the limit must be at least "
                f"{needed} ({quotas.CONCURRENCY_URL}); request a quota increase or set "
                "reserve_concurrency to false"
            )
        return self


class StackConfig(_Strict):
    project_name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,19}$")
    stage: Literal["dev", "prod"]
    dataset: DatasetSchema
    metric: MetricConfig
    # A built-in algorithm and its hyperparameters, or the user's entry point (model_spec.py).
    model: ModelSpec = ModelSpec()
    approval_mode: Literal["manual", "automatic"] = "manual"
    data: DataConfig = DataConfig()
    drift: DriftConfig = DriftConfig()
    model_quality: ModelQualityConfig = ModelQualityConfig()
    data_quality: DataQualityConfig = DataQualityConfig()
    retrain: RetrainConfig = RetrainConfig()
    compute: ComputeConfig = ComputeConfig()
    deployment: DeploymentConfig = DeploymentConfig()
    functions: FunctionsConfig = FunctionsConfig()
    notification_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    # Taken by the names of what `cdk destroy` retains (buckets, model registry), so the stack
    # can be deployed again next to them (README, "Deploy again after cdk destroy").
    retained_name_suffix: str | None = Field(default=None, pattern=r"^[a-z0-9]{1,8}$")

    @model_validator(mode="after")
    def _fits_aws(self) -> StackConfig:
        """Cross-field checks, all reported at once: the metric, every physical name, and what
        the features add to the stack against AWS's limits."""
        problems = metric_problems(self.dataset.problem_type, self.metric.name)
        problems += columns_problems(self.dataset.columns)
        known = METRICS[self.dataset.problem_type]
        quality = self.model_quality
        if quality.metric is not None and quality.metric not in known:
            problems.append(
                f"model_quality.metric: {quality.metric!r} is not a "
                f"{self.dataset.problem_type} metric; choose one of {sorted(known)}"
            )
        elif quality.threshold is not None:
            try:
                MetricConfig(name=self.model_quality_metric, threshold=quality.threshold)
            except ValidationError as error:
                problems += [
                    f"model_quality.{e['msg'].removeprefix(_VALUE_ERROR)}" for e in error.errors()
                ]
        labelled = self.retrain.labelled_traffic
        if labelled.enabled and labelled.days > self.data.capture_expiry_days:
            problems.append(
                f"retrain.labelled_traffic.days: {labelled.days} days reach past "
                f"data.capture_expiry_days ({self.data.capture_expiry_days}), after which the "
                "captured requests are deleted: choose at most "
                f"{self.data.capture_expiry_days} or keep the capture longer"
            )
        problems += aws_problems(
            self.names,
            [f.name for f in self.dataset.features],
            retrain_schedule=self.retrain.schedule is not None,
            email=self.notification_email is not None,
            data_quality_alarm=self.data_quality.alarm_threshold is not None,
        )
        _raise_all(problems)
        return self

    @property
    def prefix(self) -> str:
        """Prefix of every physical name, so dev and prod live side by side in one account."""
        return f"{self.project_name}-{self.stage}"

    @property
    def names(self) -> PhysicalNames:
        return PhysicalNames(self.prefix, self.retained_name_suffix or "")

    @property
    def drift_alarm_names(self) -> list[str]:
        """The alarms that retrain (drift and model quality): the drift rule and drift_retrain
        match exactly these."""
        return self.names.retrain_alarms(f.name for f in self.dataset.features)

    @property
    def model_quality_metric(self) -> str:
        return self.model_quality.metric or self.metric.name

    @property
    def model_quality_threshold(self) -> float:
        if self.model_quality.threshold is not None:
            return self.model_quality.threshold
        return self.metric.threshold

    @property
    def model_quality_greater_is_better(self) -> bool:
        return METRICS[self.dataset.problem_type][self.model_quality_metric]

    @property
    def metric_greater_is_better(self) -> bool:
        return METRICS[self.dataset.problem_type][self.metric.name]


def columns_problems(columns: tuple[str, ...]) -> list[str]:
    """The column names against what data_arrival's environment can carry."""
    size = quotas.schema_columns_bytes(columns)
    room = quotas.LAMBDA_ENVIRONMENT_MAX_BYTES - quotas.LAMBDA_ENVIRONMENT_MARGIN_BYTES
    if size <= room:
        return []
    return [
        f"dataset.features: the {len(columns)} column names take {size} bytes in data_arrival's "
        f"SCHEMA_COLUMNS (JSON; a non-ASCII character takes 6); Lambda allows "
        f"{quotas.LAMBDA_ENVIRONMENT_MAX_BYTES} bytes of environment variables in all "
        f"({quotas.LAMBDA_QUOTA_URL}), {room} of them for the names: use shorter names"
    ]


def metric_problems(problem_type: object, metric_name: object) -> list[str]:
    """The metric against the problem type; plain values, so a config whose dataset does not
    validate still gets this check (`parse_config`)."""
    known = METRICS.get(problem_type) if isinstance(problem_type, str) else None
    if known is None or not isinstance(metric_name, str) or metric_name in known:
        return []
    return [
        f"metric.name: {metric_name!r} is not a {problem_type} metric; "
        f"choose one of {sorted(known)}"
    ]


_KEYED_LINE = re.compile(r"^(?P<key>[a-z_][a-z0-9_.]*): (?P<msg>.*)$", re.DOTALL)
_VALUE_ERROR = "Value error, "


def _describe(error: ValidationError) -> list[str]:
    """One line per problem, each starting with the full dotted key and naming the value.
    Cross-field checks raise "<key>: <message>" lines so that they name their key like field
    checks do; their messages quote the values themselves."""
    lines = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"])
        message = item["msg"]
        if message.startswith(_VALUE_ERROR):
            for line in message.removeprefix(_VALUE_ERROR).split("\n"):
                keyed = _KEYED_LINE.match(line)
                key = ".".join(p for p in (loc, keyed["key"] if keyed else "") if p)
                lines.append(f"  {key or '(top level)'}: {keyed['msg'] if keyed else line}")
            continue
        value = item.get("input")
        if _is_plain(value):
            message = f"{message} (got {value!r})"
        lines.append(f"  {loc or '(top level)'}: {message}")
    return lines


def _is_plain(value: object) -> bool:
    """A value short and simple enough to quote in a one-line message."""
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value) and len(repr(value)) <= 120
    return isinstance(value, str | int | float | bool) or value is None


def parse_config(
    raw: dict, *, source: str = "config", project_root: Path = REPO_ROOT
) -> StackConfig:
    """`project_root`: where model.entry_point is looked up (the repository, beside cdk.json)."""
    try:
        return StackConfig.model_validate(raw, context={"project_root": project_root})
    except ValidationError as error:
        lines = _describe(error)
        # The cross-field checks run only once every key validates; run the name and limit
        # checks anyway, so that one synth lists every problem.
        if not any(item["loc"] == () for item in error.errors()):
            lines += [f"  {line}" for line in _raw_cross_problems(raw, error)]
        raise ConfigError(f"{source}: invalid config\n" + "\n".join(lines)) from None


def _raw_cross_problems(raw: dict, error: ValidationError) -> list[str]:
    """The cross-field checks of models whose own fields failed, so they did not run."""
    dataset, metric = raw.get("dataset"), raw.get("metric")
    dataset = dataset if isinstance(dataset, dict) else {}
    problems = metric_problems(
        dataset.get("problem_type"), metric.get("name") if isinstance(metric, dict) else None
    )
    if any(item["loc"][:1] == ("dataset",) and len(item["loc"]) > 1 for item in error.errors()):
        features = dataset.get("features")
        names = [
            f["name"]
            for f in (features if isinstance(features, list) else [])
            if isinstance(f, dict) and isinstance(f.get("name"), str)
        ]
        problems += [
            f"dataset.{line}"
            for line in dataset_problems(
                names, dataset.get("target"), dataset.get("problem_type"), dataset.get("classes")
            )
        ]
    return problems + raw_aws_problems(raw)


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
