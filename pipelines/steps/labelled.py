"""Labelled captured traffic as training rows: each captured request joined with its
ground-truth labels, one row per labelled row of a request, in the dataset's columns.

The join is the one model quality uses (ground_truth.merge_labels): a label record names the
request's `inferenceId`, else its captured `eventId`; several records for one request, the
highest `eventVersion` wins, then the last uploaded; a request of several rows takes one label
per row, in order. A captured row without a label is not used; a label naming no request of
the look-back, or giving another number of labels than the request had rows, is counted.

The rows keep the values as the callers sent them (text, missing as None) and carry the capture
object they came from, so Validate checks the rows of each capture object as it checks an
uploaded object (the same reader, types and schema), and rejects and quarantines them whole.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from pipelines.schema import DatasetSchema
from pipelines.steps.capture import captured_request, parse_time
from pipelines.steps.ground_truth import ACTUAL, LabelRecord, merge_labels
from pipelines.steps.serving_input import RequestError

SOURCE = "source"  # the index of the capture object a row came from
_ERROR_SAMPLES = 5


@dataclass
class CapturedRows:
    """The request rows of the captured events in the look-back, as sent."""

    frame: pd.DataFrame  # key, row, source, and one text column per feature
    n_events: int = 0
    n_skipped: int = 0  # capture lines that could not be read
    errors: list[str] = field(default_factory=list)


def captured_rows(
    sources: Iterable[tuple[int, Iterable[str]]],
    features: list[str],
    *,
    since: datetime,
    until: datetime,
) -> CapturedRows:
    """The rows of each (source index, capture lines) whose inferenceTime is in [since, until)."""
    records: list[dict[str, Any]] = []
    out = CapturedRows(frame=pd.DataFrame())
    for source, lines in sources:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
                when = parse_time(event["eventMetadata"]["inferenceTime"])
                if not since <= when < until:
                    continue
                captured, rows = captured_request(event, features, when)
            except (RequestError, ValueError, KeyError, TypeError, AttributeError) as exc:
                out.n_skipped += 1
                if len(out.errors) < _ERROR_SAMPLES:
                    out.errors.append(f"capture {source} line {number}: {exc!r}")
                continue
            out.n_events += 1
            ids = {"key": captured.key, SOURCE: source}
            for row, values in enumerate(rows.itertuples(index=False, name=None)):
                texts = dict(zip(features, map(_text, values), strict=True))
                records.append({**ids, "row": row, **texts})
    out.frame = pd.DataFrame.from_records(records, columns=["key", "row", SOURCE, *features])
    return out


@dataclass
class LabelledRows:
    """The labelled rows of each capture object (text, the schema's columns) and the counts."""

    by_source: dict[int, pd.DataFrame]
    stats: dict[str, Any]

    @property
    def n_rows(self) -> int:
        return sum(len(f) for f in self.by_source.values())


def labelled_rows(
    captured: CapturedRows, labels: Iterable[LabelRecord], schema: DatasetSchema
) -> LabelledRows:
    """Join the captured rows with their labels; the target column holds the label."""
    merged = merge_labels(captured.frame, labels)
    frame = merged.frame[merged.frame[ACTUAL].notna()]
    columns = [*schema.feature_kinds, schema.target]
    rows = frame.rename(columns={ACTUAL: schema.target})
    by_source = {
        int(source): group[columns].reset_index(drop=True)
        for source, group in rows.groupby(SOURCE, sort=True)
    }
    stats = {
        "n_captured_events": captured.n_events,
        "n_captured_rows": len(captured.frame),
        "n_labelled_rows": len(frame),
        "n_label_records": merged.n_labels,
        "n_duplicate_records": merged.n_duplicates,
        "n_unmatched_records": merged.n_unmatched,
        "n_wrong_count_records": merged.n_wrong_count,
        "unmatched_samples": merged.unmatched_samples,
        "unreadable_capture_lines": captured.n_skipped,
        "capture_errors": captured.errors,
    }
    return LabelledRows(by_source=by_source, stats=stats)


def _text(value: Any) -> str | None:
    """A value as text, the way it would stand in a CSV upload; missing is None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)
