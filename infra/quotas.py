"""The AWS limits a config can run into, and what a config uses of each.

Nothing here imports CDK: the config is checked against these before anything is synthesized.
The stack builds the drift rule's pattern with `drift_alarm_pattern`, and the infra tests pin
`template_resources` to the synthesized templates, so the checks cannot drift from the stack.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html ("Event pattern size",
# in characters; adjustable by a quota request, 2048 unless raised).
EVENT_PATTERN_MAX_CHARS = 2048
EVENT_PATTERN_QUOTA_URL = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html"
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
TEMPLATE_MAX_RESOURCES = 500
TEMPLATE_QUOTA_URL = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html"
)
# https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html: "leave at least
# 100 simultaneous executions unreserved for functions that aren't configured with a limit".
UNRESERVED_CONCURRENCY_MIN = 100
CONCURRENCY_URL = "https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html"

# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: a function's
# environment variables take at most 4 KB in all. data_arrival carries the column names
# (SCHEMA_COLUMNS, JSON); its other variables take under 1 KB, left as the margin.
LAMBDA_ENVIRONMENT_MAX_BYTES = 4096
LAMBDA_ENVIRONMENT_MARGIN_BYTES = 1024
LAMBDA_QUOTA_URL = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"


def schema_columns_bytes(columns: Sequence[str]) -> int:
    """What SCHEMA_COLUMNS takes in data_arrival's environment (the stack writes json.dumps)."""
    return len(json.dumps(list(columns)).encode())


# What the synthesized template holds (tests/infra pins these to cdk synth): every resource but
# the per-feature ones, and what each feature and each optional part adds.
FIXED_RESOURCES = 62
CDK_METADATA_RESOURCES = 1  # AWS::CDK::Metadata, added by `cdk synth` (version reporting)
RESOURCES_PER_FEATURE = 1  # the feature's drift alarm
RETRAIN_SCHEDULE_RESOURCES = 2  # the rule and its permission to invoke drift_retrain
EMAIL_RESOURCES = 1  # the topic subscription
DATA_QUALITY_ALARM_RESOURCES = 1  # the optional data-quality alarm


def drift_alarm_pattern(alarm_names: Sequence[str]) -> dict[str, Any]:
    """The drift rule's event pattern: these alarms, by exact name, going to ALARM."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": list(alarm_names), "state": {"value": ["ALARM"]}},
    }


def event_pattern_size(pattern: dict[str, Any]) -> int:
    """Characters of the pattern as JSON, with the spaces a serializer may add after each
    separator: the larger of the ways CloudFormation could hand it to EventBridge."""
    return len(json.dumps(pattern))


def template_resources(
    *, features: int, retrain_schedule: bool, email: bool, data_quality_alarm: bool = False
) -> int:
    return (
        FIXED_RESOURCES
        + CDK_METADATA_RESOURCES
        + RESOURCES_PER_FEATURE * features
        + (RETRAIN_SCHEDULE_RESOURCES if retrain_schedule else 0)
        + (EMAIL_RESOURCES if email else 0)
        + (DATA_QUALITY_ALARM_RESOURCES if data_quality_alarm else 0)
    )


def max_features_by_resources(
    *, retrain_schedule: bool, email: bool, data_quality_alarm: bool = False
) -> int:
    spare = TEMPLATE_MAX_RESOURCES - template_resources(
        features=0,
        retrain_schedule=retrain_schedule,
        email=email,
        data_quality_alarm=data_quality_alarm,
    )
    return spare // RESOURCES_PER_FEATURE
