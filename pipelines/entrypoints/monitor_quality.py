"""The monitoring entry script's reads for model quality and prediction drift: ground-truth
labels, the captured events of the look-back, the live model's evaluation (boto3; the logic is
in pipelines/steps/)."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.entrypoints.common import read_s3_text, split_s3_uri
from pipelines.schema import DatasetSchema
from pipelines.steps.capture import (
    CapturedEvent,
    hour_prefixes,
    parse_captured_events,
    parse_time,
)
from pipelines.steps.ground_truth import LabelRecords, merge_labels, parse_label_lines
from pipelines.steps.model_quality import model_quality_section
from pipelines.steps.prediction_drift import (
    check_prediction_drift,
    prediction_drift_section,
    prediction_drift_values,
)
from pipelines.steps.predictions import output_kinds, prediction_rows


@dataclass
class CaptureRead:
    """The capture objects one pass already read, and their events from `since` on: the
    window's pass keeps them for prediction drift and model quality, so the look-back of model
    quality reads only the objects before the window (it used to read the window again)."""

    since: datetime
    keys: set[str] = field(default_factory=set)
    events: list[CapturedEvent] = field(default_factory=list)
    n_skipped: int = 0

    def add(self, key: str, lines: list[str], end: datetime) -> None:
        parsed = parse_captured_events(lines, start=self.since, end=end)
        self.keys.add(key)
        self.events.extend(parsed.events)
        self.n_skipped += parsed.n_skipped

    def events_since(self, start: datetime) -> list[CapturedEvent]:
        return [e for e in self.events if e.inference_time >= start]


def lookback_start(end: datetime, lookback_hours: int, live: dict[str, Any]) -> datetime:
    """Model quality's predictions: the look-back, but none from before the live model."""
    start = end - timedelta(hours=lookback_hours)
    if live.get("deployed_at"):
        start = max(start, parse_time(live["deployed_at"]))
    return start


def hour_objects(
    client: Any,
    uri: str,
    start: datetime,
    end: datetime,
    *,
    variants: bool,
    skip: Collection[str] = (),
) -> Iterator[tuple[str, datetime, list[str]]]:
    """(key, LastModified, lines) of the objects under uri's hour folders of [start, end),
    but those in `skip`; with variants, under each `<variant>/` folder first (capture's
    layout)."""
    bucket, prefix = split_s3_uri(uri)
    prefix = prefix.rstrip("/") + "/"
    paginator = client.get_paginator("list_objects_v2")
    roots = (
        [
            p["Prefix"]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
            for p in page.get("CommonPrefixes", [])
        ]
        if variants
        else [prefix]
    )
    for root in roots:
        for hour in hour_prefixes(start, end):
            for page in paginator.paginate(Bucket=bucket, Prefix=root + hour):
                for obj in page.get("Contents", []):
                    if obj["Key"] in skip:
                        continue
                    body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                    yield obj["Key"], obj["LastModified"], body.decode("utf-8").splitlines()


def captured_events(
    client: Any, capture_uri: str, start: datetime, end: datetime, read: CaptureRead
) -> tuple[list[CapturedEvent], int]:
    """The events of [start, end) (ids, time, output only) and the lines that were unreadable:
    those `read` holds (read.since <= start), and those of the objects it did not read."""
    events, skipped = read.events_since(start), read.n_skipped
    objects = hour_objects(client, capture_uri, start, end, variants=True, skip=read.keys)
    for _key, _modified, lines in objects:
        parsed = parse_captured_events(lines, start=start, end=end)
        events.extend(parsed.events)
        skipped += parsed.n_skipped
    return events, skipped


def read_labels(client: Any, ground_truth_uri: str, start: datetime, end: datetime) -> LabelRecords:
    """Every ground-truth record uploaded in the hour folders of [start, end)."""
    out = LabelRecords()
    for key, modified, lines in hour_objects(client, ground_truth_uri, start, end, variants=False):
        out.extend(parse_label_lines(lines, source=key, uploaded=modified))
    return out


def read_json(uri: str, client: Any) -> dict[str, Any] | None:
    text = read_s3_text(uri, client) if uri else None
    return json.loads(text) if text else None


def prediction_drift(
    evaluation: dict[str, Any] | None,
    events: list[CapturedEvent],
    problem_type: str,
    default_threshold: float,
) -> dict[str, Any]:
    baseline = (evaluation or {}).get("prediction_baseline")
    if not baseline:
        return {"status": "no_baseline", "message": "the live model's evaluation has none"}
    rows = prediction_rows(events, problem_type)
    result = check_prediction_drift(
        baseline, rows.frame[list(output_kinds(problem_type))], default_threshold=default_threshold
    )
    section = prediction_drift_section(result)
    section.update(values=prediction_drift_values(result), n_unreadable_outputs=rows.n_skipped)
    return section


def model_quality(
    client: Any,
    *,
    ground_truth_uri: str,
    capture_uri: str,
    schema: DatasetSchema,
    live: dict[str, Any],
    end: datetime,
    read: CaptureRead,
    metric: str,
    lookback_hours: int,
    min_labelled_rows: int,
    window_minutes: int,
) -> dict[str, Any]:
    """The look-back's predictions (since the live model was deployed) merged with every label
    uploaded for them so far: the label folders run from the look-back's start to now. `read`:
    the window's capture objects, already read."""
    start = lookback_start(end, lookback_hours, live)
    # Labels come after their predictions: read the folders up to now, or, for a window long
    # past, up to the look-back after its end (labels later than that are no longer awaited).
    lookback = timedelta(hours=lookback_hours)
    until = max(end, min(datetime.now(UTC), end + lookback)) + timedelta(hours=1)
    labels = read_labels(client, ground_truth_uri, start, until)
    events, unreadable = (
        captured_events(client, capture_uri, start, end, read) if labels.records else ([], 0)
    )
    rows = prediction_rows(events, schema.problem_type)
    merged = merge_labels(rows.frame, labels.records)
    classes = list(schema.classes) if schema.classes else None
    section = model_quality_section(
        merged,
        problem_type=schema.problem_type,
        metric=metric,
        classes=classes,
        positive=classes[-1] if classes else None,  # as Train's metadata names it
        min_labelled_rows=min_labelled_rows,
        window_minutes=window_minutes,
        start=start,
        end=end,
    )
    section["ground_truth"] = {
        "unreadable_lines": labels.n_skipped,
        "errors": labels.errors,
        "unreadable_capture_lines": unreadable + rows.n_skipped,
    }
    return section
