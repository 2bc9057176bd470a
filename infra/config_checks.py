"""The checks of a config that span several keys: physical names and AWS limits.

They take plain values, so `parse_config` can run them on a config whose other keys are still
invalid and report every problem at once. Each problem is a "<key>: <message>" line.
"""

from __future__ import annotations

from collections.abc import Sequence

from infra import quotas
from infra.names import PhysicalNames


def aws_problems(
    names: PhysicalNames,
    features: Sequence[str],
    *,
    retrain_schedule: bool,
    email: bool,
    data_quality_alarm: bool = False,
) -> list[str]:
    problems = []
    for problem in names.problems(features):
        key = (
            f"dataset.features.{features.index(problem.feature)}.name"
            if problem.feature is not None
            else "project_name"
        )
        problems.append(f"{key}: {problem.message}")
    pattern = quotas.drift_alarm_pattern(names.retrain_alarms(features))
    pattern_size = quotas.event_pattern_size(pattern)
    if pattern_size > quotas.EVENT_PATTERN_MAX_CHARS:
        problems.append(
            f"dataset.features: {len(features)} features make the drift rule's event pattern, "
            f"which names every drift alarm, {pattern_size} characters; EventBridge allows "
            f"{quotas.EVENT_PATTERN_MAX_CHARS} ({quotas.EVENT_PATTERN_QUOTA_URL}): use fewer "
            "features or shorter feature names"
        )
    optional = {
        "retrain_schedule": retrain_schedule,
        "email": email,
        "data_quality_alarm": data_quality_alarm,
    }
    resources = quotas.template_resources(features=len(features), **optional)
    if resources > quotas.TEMPLATE_MAX_RESOURCES:
        problems.append(
            f"dataset.features: {len(features)} features make the stack {resources} resources; "
            f"CloudFormation allows {quotas.TEMPLATE_MAX_RESOURCES} ({quotas.TEMPLATE_QUOTA_URL})"
            f" and each feature adds {quotas.RESOURCES_PER_FEATURE} (its drift alarm): at most "
            f"{quotas.max_features_by_resources(**optional)} features"
        )
    return problems


def raw_aws_problems(raw: dict) -> list[str]:
    """`aws_problems` of a config that did not validate, as far as its keys allow."""
    project, stage, suffix = (
        raw.get("project_name"),
        raw.get("stage"),
        raw.get("retained_name_suffix"),
    )
    dataset = raw.get("dataset")
    features = dataset.get("features") if isinstance(dataset, dict) else None
    if not (
        isinstance(project, str)
        and isinstance(stage, str)
        and isinstance(suffix, str | None)
        and isinstance(features, list)
        and all(isinstance(f, dict) and isinstance(f.get("name"), str) for f in features)
    ):
        return []
    retrain, email = raw.get("retrain"), raw.get("notification_email")
    data_quality = raw.get("data_quality")
    return aws_problems(
        PhysicalNames(f"{project}-{stage}", suffix or ""),
        [f["name"] for f in features],
        retrain_schedule=isinstance(retrain, dict) and retrain.get("schedule") is not None,
        email=email is not None,
        data_quality_alarm=isinstance(data_quality, dict)
        and data_quality.get("alarm_threshold") is not None,
    )
