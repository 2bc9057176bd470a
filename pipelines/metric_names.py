"""The names a feature takes where AWS sees it: drift metric names, alarm names, construct ids.

A feature is named as the data names it (`mean radius`, `revenue/visit`, `âge`); CloudWatch
metric names take printable ASCII only
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html), and
alarm names, EventBridge patterns, IAM ARNs and CDK construct ids are all safer with less. So
every place that names a feature for AWS calls `feature_token`: the alarms (infra/names.py and
infra/constructs/alarms.py), the monitoring step's metrics (pipelines/steps/monitor.py), the
drift rule and drift_retrain (the alarm names, from infra/names.py). Reports map the names back:
the drift report lists each feature's metric, `mlops status` each alarm's feature.

It lives in `pipelines/` because the monitoring step runs where `infra/` is not shipped.
Standard library only.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

DRIFT_SCORE_METRIC = "drift_score"
FEATURE_DRIFT_METRIC_PREFIX = "feature_baseline_drift_"
MODEL_QUALITY_METRIC_PREFIX = "model_quality_"
DATA_QUALITY_SCORE_METRIC = "data_quality_score"
DATA_QUALITY_METRIC_PREFIX = "data_quality_"
# A name made only of these, and short, is its own token: the names the stack always gave
# stay as they were.
_SAFE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9_.-]+")
_SLUG_MAX = 40
_HASH_CHARS = 8


def feature_token(feature: str) -> str:
    """`feature` itself when it is short and of [A-Za-z0-9_.-]; otherwise a readable ASCII slug
    and 8 hex digits of its SHA-256 (`mean radius` -> `mean_radius-<hash>`). Deterministic, at
    most 64 characters of [A-Za-z0-9_.-], and never the same for two names: a slug always ends
    in its name's hash, and a name that happens to look like another's slug is refused by
    infra/names.py, which checks every alarm name for repeats."""
    if _SAFE.fullmatch(feature):
        return feature
    ascii_text = unicodedata.normalize("NFKD", feature).encode("ascii", "ignore").decode("ascii")
    slug = _UNSAFE_RUN.sub("_", ascii_text).strip("_.-")[:_SLUG_MAX] or "feature"
    digest = hashlib.sha256(feature.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    return f"{slug}-{digest}"


def feature_drift_metric(feature: str) -> str:
    """The CloudWatch metric the monitoring step puts and the feature's alarm watches."""
    return FEATURE_DRIFT_METRIC_PREFIX + feature_token(feature)


def feature_drift_metrics(features: Iterable[str]) -> dict[str, str]:
    """feature -> its drift metric, in the features' order: how a report maps names back."""
    return {feature: feature_drift_metric(feature) for feature in features}


def model_quality_metric(metric: str) -> str:
    """`model_quality_<metric>`: what the monitoring step puts and the model-quality alarm
    watches (metric names are the Evaluate step's, all safe)."""
    return MODEL_QUALITY_METRIC_PREFIX + metric


def data_quality_metric(check: str, feature: str) -> str:
    """`data_quality_<check>_<token>`: a feature's share of missing, wrong-type, out-of-bounds
    or unseen values."""
    return f"{DATA_QUALITY_METRIC_PREFIX}{check}_{feature_token(feature)}"
