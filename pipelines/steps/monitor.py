"""The monitoring step's logic: the window, the report and the CloudWatch metric data.

I/O (capture files, the live record, put_metric_data) stays in the entry script.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from pipelines.drift import DriftReport, ReferenceProfile, check_drift
from pipelines.drift.check import DEFAULT_CONFIDENCE, DEFAULT_MIN_ROWS
from pipelines.metric_names import (
    DRIFT_SCORE_METRIC,
    feature_drift_metric,
    feature_drift_metrics,
    model_quality_metric,
)
from pipelines.steps.capture import parse_time
from pipelines.steps.data_quality import data_quality_values

STATUS_NO_LIVE_MODEL = "no_live_model"
STATUS_NO_DATA = "no_data"
STATUS_INSUFFICIENT_DATA = "insufficient_data"
STATUS_DRIFT = "drift"
STATUS_OK = "ok"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
KEY_TIME_FORMAT = "%Y%m%dT%H%M%SZ"  # the report's folder name: sortable and safe in any path


def window_bounds(
    end: str | None, minutes: int, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """[end - minutes, end); end defaults to the moment the run starts (to the second), so the
    traffic right before a scheduled run is in its window, not an hour later in the next."""
    if minutes <= 0:
        raise ValueError("the window must be at least one minute")
    if end:
        stop = parse_time(end)
    else:
        stop = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    return stop - timedelta(minutes=minutes), stop


def base_report(
    endpoint: str, start: datetime, end: datetime, live: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {
        "endpoint_name": endpoint,
        "window_start": start.strftime(TIME_FORMAT),
        "window_end": end.strftime(TIME_FORMAT),
        "model_package_arn": (live or {}).get("model_package_arn"),
        "model_version": str((live or {}).get("model_package_version", "")),
        "baseline_uri": (live or {}).get("baseline_uri"),
    }


def no_live_model_report(endpoint: str, start: datetime, end: datetime) -> dict[str, Any]:
    report = base_report(endpoint, start, end, None)
    report.update(status=STATUS_NO_LIVE_MODEL, message="no live model: nothing to compare yet")
    return report


def drift_report(
    report: dict[str, Any],
    profile: ReferenceProfile,
    chunks: Iterable[pd.DataFrame],
    *,
    thresholds: Mapping[str, float],
    default_threshold: float,
    confidence: float = DEFAULT_CONFIDENCE,
    min_window_rows: int = DEFAULT_MIN_ROWS,
) -> tuple[dict[str, Any], DriftReport]:
    result = check_drift(
        profile,
        chunks,
        thresholds=thresholds,
        default_threshold=default_threshold,
        confidence=confidence,
        min_rows=min_window_rows,
    )
    out = dict(report)
    out["drift"] = result.to_dict()
    # The CloudWatch metric of each feature, whose name may differ from the feature's.
    out["feature_metrics"] = feature_drift_metrics(result.features)
    if result.n_current == 0:
        out.update(status=STATUS_NO_DATA, message="no captured requests in the window")
    elif not result.sufficient:
        out.update(
            status=STATUS_INSUFFICIENT_DATA,
            message=f"{result.n_current} captured rows in the window, fewer than the "
            f"{result.min_rows} needed to decide: no drift metric published",
        )
    else:
        out["status"] = STATUS_DRIFT if result.drifted_features else STATUS_OK
    return out, result


def metric_data(
    result: DriftReport, endpoint: str, model_version: str, timestamp: datetime
) -> list[dict[str, Any]]:
    """CloudWatch MetricData: each value by EndpointName (alarms) and +ModelVersion (history)."""
    if not result.sufficient:
        # no traffic, or too little to decide, is not "no drift": the alarms see missing data
        return []
    values = {DRIFT_SCORE_METRIC: result.drift_score}
    for name, feature in result.features.items():
        # the distance when significant, else 0: the alarm's `>= threshold` is the decision
        value = feature.alarm_value
        if value is not None:
            values[feature_drift_metric(name)] = value
    return metric_values_data(values, endpoint, model_version, timestamp)


def metric_values_data(
    values: Mapping[str, float], endpoint: str, model_version: str, timestamp: datetime
) -> list[dict[str, Any]]:
    """Each value by EndpointName (what the alarms watch) and +ModelVersion (history)."""
    dimension_sets = [[{"Name": "EndpointName", "Value": endpoint}]]
    if model_version:
        dimension_sets.append(
            dimension_sets[0] + [{"Name": "ModelVersion", "Value": model_version}]
        )
    return [
        {
            "MetricName": metric,
            "Dimensions": dims,
            "Timestamp": timestamp,
            "Value": value,
            "Unit": "None",
        }
        for metric, value in values.items()
        for dims in dimension_sets
    ]


def quality_values(report: Mapping[str, Any]) -> dict[str, float]:
    """The metric values of the quality sections: `model_quality_<metric>` for the standard set
    once there are enough labelled rows, `prediction_drift_<output>`, and data quality once the
    window has enough rows. A section with too little data adds nothing (missing data)."""
    values: dict[str, float] = {}
    quality = report.get("model_quality") or {}
    if quality.get("value") is not None:
        values.update(
            {model_quality_metric(name): float(v) for name, v in quality["metrics"].items()}
        )
    values.update((report.get("prediction_drift") or {}).get("values", {}))
    data = report.get("data_quality")
    if data:
        values.update(data_quality_values(data))
    return values
