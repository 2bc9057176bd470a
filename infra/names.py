"""Physical names of one deployment (docs/contracts.md), derived from the config's prefix.

Every name the stack gives a resource is made here, and `problems()` checks each one against the
rules of the service that owns it, so a name AWS would refuse stops synth instead of a deploy.
Imports nothing from CDK, so the `mlops` command can name the same resources without paying for
a CDK import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipelines.metric_names import feature_token

# The data bucket's layout (docs/contracts.md, "S3 layout").
INCOMING_PREFIX = "incoming/"
QUARANTINE_PREFIX = "quarantine/"
GROUND_TRUTH_PREFIX = "ground-truth/"  # labels users upload: ground-truth/<endpoint>/yyyy/mm/dd/hh/
CAPTURE_PREFIX = "capture/"
# The four Lambdas of the loop, by package name under functions/.
FUNCTIONS = ("data_arrival", "pipeline_events", "deploy", "drift_retrain")
# One EventBridge rule per arrow of the loop, plus the two schedules.
RULES = (
    "data-arrival",
    "pipeline-status",
    "model-approval",
    "endpoint-status",
    "drift-alarm",
    "monitoring-schedule",
    "retrain-schedule",
)
BUCKET_KINDS = ("access-logs", "data", "artifacts")

# Bucket names carry the account and region. They are checked with the longest region name of
# the partitions cdk.json targets (aws, aws-cn: 14 characters), so a config that passes deploys
# in every region.
LONGEST_REGION = "ap-southeast-3"
ACCOUNT_PLACEHOLDER = "123456789012"
# The deploy function names models and endpoint configs `<endpoint>-v<version>-<8 hex digits>`
# (functions/deploy/resources.py), and its IAM grants match `<endpoint>-*`: the endpoint name
# leaves room for that suffix within SageMaker's 63 characters.
ENDPOINT_CHILD_SUFFIX = len("-v999999-") + 8


@dataclass(frozen=True)
class NameRule:
    """What one AWS API accepts as a name; `url` is the API reference that says so."""

    what: str
    max_length: int
    pattern: str
    url: str
    min_length: int = 1

    def problem(self, name: str) -> str | None:
        if not self.min_length <= len(name) <= self.max_length:
            return (
                f"{self.what} name {name!r} is {len(name)} characters; AWS allows "
                f"{self.min_length} to {self.max_length} ({self.url})"
            )
        if not re.fullmatch(self.pattern, name):
            return f"{self.what} name {name!r} does not match {self.pattern} ({self.url})"
        return None


_SAGEMAKER_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9])*"
_API = "https://docs.aws.amazon.com"
RULES_BY_KIND: dict[str, NameRule] = {
    "bucket": NameRule(
        "S3 bucket",
        63,
        r"(?!xn--|sthree-|amzn-s3-demo-)(?!.*\.\.)[a-z0-9][a-z0-9.-]*[a-z0-9]"
        r"(?<!-s3alias)(?<!--ol-s3)(?<!\.mrap)(?<!--x-s3)(?<!--table-s3)",
        f"{_API}/AmazonS3/latest/userguide/bucketnamingrules.html",
        min_length=3,
    ),
    "pipeline": NameRule(
        "SageMaker pipeline",
        256,
        _SAGEMAKER_NAME,
        f"{_API}/sagemaker/latest/APIReference/API_CreatePipeline.html",
    ),
    "model_group": NameRule(
        "SageMaker model package group",
        63,
        _SAGEMAKER_NAME,
        f"{_API}/sagemaker/latest/APIReference/API_CreateModelPackageGroup.html",
    ),
    "endpoint": NameRule(
        "SageMaker endpoint (with room for its models' suffix)",
        63 - ENDPOINT_CHILD_SUFFIX,
        _SAGEMAKER_NAME,
        f"{_API}/sagemaker/latest/APIReference/API_CreateEndpoint.html",
    ),
    "alarm": NameRule(
        "CloudWatch alarm",
        255,
        r"[^\x00-\x1f\x7f]+",
        f"{_API}/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html",
    ),
    "namespace": NameRule(
        "CloudWatch namespace",
        255,
        r"(?!AWS/)[^:\x00-\x1f\x7f]+",
        f"{_API}/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html",
    ),
    "dashboard": NameRule(
        "CloudWatch dashboard",
        255,
        r"[A-Za-z0-9_-]+",
        f"{_API}/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html",
    ),
    "function": NameRule(
        "Lambda function",
        64,
        r"[a-zA-Z0-9_-]+",
        f"{_API}/lambda/latest/api/API_CreateFunction.html",
    ),
    "log_group": NameRule(
        "CloudWatch Logs log group",
        512,
        r"[._/#A-Za-z0-9-]+",
        f"{_API}/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
    ),
    "role": NameRule(
        "IAM role",
        64,
        r"[\w+=,.@-]+",
        f"{_API}/IAM/latest/APIReference/API_CreateRole.html",
    ),
    "rule": NameRule(
        "EventBridge rule",
        64,
        r"[._A-Za-z0-9-]+",
        f"{_API}/eventbridge/latest/APIReference/API_PutRule.html",
    ),
    "table": NameRule(
        "DynamoDB table",
        255,
        r"[a-zA-Z0-9_.-]+",
        f"{_API}/amazondynamodb/latest/APIReference/API_CreateTable.html",
        min_length=3,
    ),
    "queue": NameRule(
        "SQS queue",
        80,
        r"[a-zA-Z0-9_-]+",
        f"{_API}/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html",
    ),
    "topic": NameRule(
        "SNS topic",
        256,
        r"[a-zA-Z0-9_-]+",
        f"{_API}/sns/latest/api/API_CreateTopic.html",
    ),
    "key_alias": NameRule(
        "KMS alias",
        256,
        r"alias/(?!aws/)[a-zA-Z0-9/_-]+",
        f"{_API}/kms/latest/APIReference/API_CreateAlias.html",
    ),
}


@dataclass(frozen=True)
class NameProblem:
    """A name AWS would refuse or that two resources would share; `feature` is the feature whose
    name made it, None when the prefix (project_name, stage, name_suffix) did."""

    message: str
    feature: str | None = None


def kebab(name: str) -> str:
    return name.replace("_", "-")


@dataclass(frozen=True)
class PhysicalNames:
    prefix: str  # "<project_name>-<stage>"
    # Appended to the names of the resources `cdk destroy` leaves behind (buckets, model
    # registry), so a new deployment does not collide with the retained ones.
    retained_suffix: str = ""

    def _retained(self, name: str) -> str:
        return f"{name}-{self.retained_suffix}" if self.retained_suffix else name

    @property
    def training_pipeline(self) -> str:
        return f"{self.prefix}-training"

    @property
    def monitoring_pipeline(self) -> str:
        return f"{self.prefix}-monitoring"

    @property
    def model_group(self) -> str:
        return self._retained(f"{self.prefix}-models")

    @property
    def endpoint(self) -> str:
        return f"{self.prefix}-endpoint"

    def bucket(self, kind: str, account: str, region: str) -> str:
        """`data`, `artifacts` or `access-logs`, unique per account and region."""
        return self._retained(f"{self.prefix}-{kind}-{account}-{region}")

    @property
    def key_alias(self) -> str:
        return f"alias/{self.prefix}"

    @property
    def state_table(self) -> str:
        return f"{self.prefix}-state"

    @property
    def failure_queue(self) -> str:
        return f"{self.prefix}-failed-events"

    @property
    def topic(self) -> str:
        return f"{self.prefix}-notifications"

    @property
    def sagemaker_role(self) -> str:
        return f"{self.prefix}-sagemaker"

    @property
    def model_role(self) -> str:
        """The execution role of the model on the endpoint (not the pipeline's)."""
        return f"{self.prefix}-model"

    @property
    def dashboard(self) -> str:
        return f"{self.prefix}-loop"

    def function(self, name: str) -> str:
        """`name` is the package under functions/, e.g. `drift_retrain`."""
        return f"{self.prefix}-{kebab(name)}"

    def log_group(self, function: str) -> str:
        return f"/aws/lambda/{self.function(function)}"

    def rule(self, kind: str) -> str:
        """`kind` is one of RULES, e.g. `drift-alarm`."""
        return f"{self.prefix}-{kind}"

    # -- CloudWatch ------------------------------------------------------------------------

    @property
    def drift_namespace(self) -> str:
        return f"{self.prefix}/Drift"

    @property
    def functions_namespace(self) -> str:
        return f"{self.prefix}/Functions"

    @property
    def drift_score_alarm(self) -> str:
        return f"{self.prefix}-drift-score"

    def drift_feature_alarm(self, feature: str) -> str:
        """`<prefix>-drift-<token>`: the feature's name where it is safe, else a slug and hash."""
        return f"{self.prefix}-drift-{feature_token(feature)}"

    def drift_alarm_features(self, features: Iterable[str]) -> dict[str, str | None]:
        """Each drift alarm's name -> the feature it watches (None: the drift score alarm)."""
        return {
            self.drift_score_alarm: None,
            **{self.drift_feature_alarm(f): f for f in features},
        }

    def drift_alarms(self, features: Iterable[str]) -> list[str]:
        """The drift alarms, matched by exact name (never by a prefix that another alarm, such
        as `<prefix>-drift-retrain-errors`, could share)."""
        return [self.drift_score_alarm, *(self.drift_feature_alarm(f) for f in features)]

    @property
    def model_quality_alarm(self) -> str:
        return f"{self.prefix}-model-quality"

    @property
    def data_quality_alarm(self) -> str:
        return f"{self.prefix}-data-quality"

    def retrain_alarms(self, features: Iterable[str]) -> list[str]:
        """The drift alarms and the model-quality alarm: every alarm that retrains."""
        return [*self.drift_alarms(features), self.model_quality_alarm]

    @property
    def rollback_alarms(self) -> list[str]:
        return [f"{self.prefix}-endpoint-5xx", f"{self.prefix}-endpoint-p99-latency"]

    def function_errors_alarm(self, function: str) -> str:
        return f"{self.function(function)}-errors"

    @property
    def failed_events_alarm(self) -> str:
        return f"{self.prefix}-failed-events"

    def operations_alarms(self) -> list[str]:
        return [*(self.function_errors_alarm(f) for f in FUNCTIONS), self.failed_events_alarm]

    # -- checks ----------------------------------------------------------------------------

    def problems(self, features: Sequence[str]) -> list[NameProblem]:
        """Every name AWS would refuse, and every alarm name two alarms would share. Feature
        metrics (`feature_baseline_drift_<token>`) cannot collide with `drift_score`, collide
        with each other exactly when their alarms do, and are always valid metric names
        (pipelines/metric_names.py)."""
        found: list[NameProblem] = []
        feature_of = {self.drift_feature_alarm(f): f for f in features}

        def check(kind: str, name: str, feature: str | None = None, hint: str = "") -> None:
            message = RULES_BY_KIND[kind].problem(name)
            if message:
                found.append(NameProblem(message + hint, feature))

        for bucket_kind in BUCKET_KINDS:
            check(
                "bucket",
                self.bucket(bucket_kind, ACCOUNT_PLACEHOLDER, LONGEST_REGION),
                hint=f"; bucket names carry the account and the region, checked with the "
                f"longest one ({LONGEST_REGION}): shorten project_name or retained_name_suffix",
            )
        for kind, name in (
            ("pipeline", self.training_pipeline),
            ("pipeline", self.monitoring_pipeline),
            ("model_group", self.model_group),
            ("endpoint", self.endpoint),
            ("key_alias", self.key_alias),
            ("table", self.state_table),
            ("queue", self.failure_queue),
            ("topic", self.topic),
            ("role", self.sagemaker_role),
            ("role", self.model_role),
            ("dashboard", self.dashboard),
            ("namespace", self.drift_namespace),
            ("namespace", self.functions_namespace),
            *(("function", self.function(f)) for f in FUNCTIONS),
            *(("log_group", self.log_group(f)) for f in FUNCTIONS),
            *(("rule", self.rule(r)) for r in RULES),
        ):
            check(kind, name)

        alarms = [
            *self.retrain_alarms(features),
            self.data_quality_alarm,
            *self.rollback_alarms,
            *self.operations_alarms(),
        ]
        for name in alarms:
            check("alarm", name, feature_of.get(name))
        for name in _repeated(alarms):
            found.append(
                NameProblem(
                    f"two alarms would be named {name!r} (feature alarms are named "
                    f"'{self.prefix}-drift-<feature>'): rename the feature",
                    feature_of.get(name),
                )
            )
        return found


def _repeated(names: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for name in names:
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    return repeated
