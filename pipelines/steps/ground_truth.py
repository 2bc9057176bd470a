"""Ground-truth labels in SageMaker's record format, and their merge with captured predictions.

Users upload JSON lines under `ground-truth/<endpoint>/yyyy/mm/dd/hh/` of the data bucket (the
hour they upload, as SageMaker asks for capture's path format), one record per request:

    {"groundTruthData": {"data": "1", "encoding": "CSV"},
     "eventMetadata": {"eventId": "<inferenceId of the request, or its captured eventId>"},
     "eventVersion": "0"}

As in SageMaker ("Ingest Ground Truth labels and merge them with predictions",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html), a record
names the `inferenceId` the caller passed to invoke_endpoint when the captured request has one,
else the captured `eventId`. A request of several rows takes one label per row, in order
(`"data": "1\n0\n1"` in CSV, or a JSON list).

Several records for one request: the highest `eventVersion` wins, then the last uploaded (S3
LastModified, then key and line), so a corrected label is uploaded again, or with a higher
version. Labels naming no captured request, or giving a different number of labels than the
request had rows, are counted and reported, never an error.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

ACTUAL = "actual"
_ERROR_SAMPLES = 5


@dataclass(frozen=True)
class LabelRecord:
    event_id: str
    values: tuple[str, ...]
    event_version: str
    uploaded: datetime  # when S3 received the object holding the record
    source: str  # `<key>:<line>`, the tie-break after upload time

    @property
    def order(self) -> tuple[int, datetime, str]:
        return (_version_number(self.event_version), self.uploaded, self.source)


@dataclass
class LabelRecords:
    records: list[LabelRecord] = field(default_factory=list)
    n_skipped: int = 0  # lines that are no ground-truth record
    errors: list[str] = field(default_factory=list)

    def extend(self, other: LabelRecords) -> None:
        self.records.extend(other.records)
        self.n_skipped += other.n_skipped
        self.errors.extend(other.errors[: max(0, _ERROR_SAMPLES - len(self.errors))])


def parse_label_lines(lines: Iterable[str], *, source: str, uploaded: datetime) -> LabelRecords:
    out = LabelRecords()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            data = record["groundTruthData"]
            event_id = str(record["eventMetadata"]["eventId"])
            if not event_id:
                raise ValueError("eventMetadata.eventId is empty")
            out.records.append(
                LabelRecord(
                    event_id=event_id,
                    values=decode_labels(data),
                    event_version=str(record.get("eventVersion", "0")),
                    uploaded=uploaded,
                    source=f"{source}:{number}",
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            out.n_skipped += 1
            if len(out.errors) < _ERROR_SAMPLES:
                out.errors.append(f"{source} line {number}: {type(exc).__name__}: {exc}")
    return out


def decode_labels(data: Mapping[str, str]) -> tuple[str, ...]:
    """groundTruthData to one label per row: CSV (a line per row), JSON (a value or a list),
    or BASE64 of CSV."""
    encoding = str(data.get("encoding", "CSV")).upper()
    payload = data["data"]
    if encoding == "BASE64":
        payload, encoding = base64.b64decode(payload).decode("utf-8"), "CSV"
    if encoding == "JSON":
        value = json.loads(payload) if isinstance(payload, str) else payload
        values = value if isinstance(value, list) else [value]
        labels = tuple(_label_text(v) for v in values)
    elif encoding == "CSV":
        labels = tuple(line.strip() for line in str(payload).splitlines() if line.strip())
    else:
        raise ValueError(f"groundTruthData.encoding {encoding!r} is not CSV, JSON or BASE64")
    if not labels:
        raise ValueError("groundTruthData.data holds no label")
    return labels


def latest_labels(records: Iterable[LabelRecord]) -> tuple[dict[str, LabelRecord], int]:
    """The record in force per request (highest eventVersion, then last upload) and how many
    records it replaced."""
    chosen: dict[str, LabelRecord] = {}
    replaced = 0
    for record in records:
        held = chosen.get(record.event_id)
        if held is not None:
            replaced += 1
            if record.order < held.order:
                continue
        chosen[record.event_id] = record
    return chosen, replaced


@dataclass
class MergedLabels:
    frame: pd.DataFrame  # the predictions, with `actual` (None where unlabelled) and `labelled_at`
    n_labels: int  # records in force
    n_duplicates: int  # records replaced by a later one
    n_unmatched: int  # records naming no captured request of the look-back
    n_wrong_count: int  # records with another number of labels than the request had rows
    unmatched_samples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        labelled = self.frame[ACTUAL].notna()
        return {
            "n_predictions": len(self.frame),
            "n_labelled_rows": int(labelled.sum()),
            "n_label_records": self.n_labels,
            "n_duplicate_records": self.n_duplicates,
            "n_unmatched_records": self.n_unmatched,
            "n_wrong_count_records": self.n_wrong_count,
            "unmatched_samples": self.unmatched_samples,
        }


def merge_labels(
    predictions: pd.DataFrame, records: Iterable[LabelRecord], *, samples: int = 5
) -> MergedLabels:
    """Join labels to the prediction rows (predictions.prediction_rows) by their request's key."""
    chosen, duplicates = latest_labels(records)
    rows_per_key = predictions.groupby("key")["row"].count().to_dict() if len(predictions) else {}
    actual: dict[tuple[str, int], str] = {}
    labelled_at: dict[tuple[str, int], datetime] = {}
    unmatched, wrong = [], 0
    for key, record in chosen.items():
        n_rows = rows_per_key.get(key)
        if n_rows is None:
            unmatched.append(key)
            continue
        if len(record.values) != n_rows:
            wrong += 1
            continue
        for row, value in enumerate(record.values):
            actual[(key, row)] = value
            labelled_at[(key, row)] = record.uploaded
    frame = predictions.copy()
    index = list(zip(frame["key"], frame["row"], strict=True))
    frame[ACTUAL] = pd.Series([actual.get(i) for i in index], index=frame.index, dtype=object)
    frame["labelled_at"] = pd.Series(
        [labelled_at.get(i) for i in index], index=frame.index, dtype=object
    )
    return MergedLabels(
        frame=frame,
        n_labels=len(chosen),
        n_duplicates=duplicates,
        n_unmatched=len(unmatched),
        n_wrong_count=wrong,
        unmatched_samples=sorted(unmatched)[:samples],
    )


def _version_number(version: str) -> int:
    try:
        return int(version)
    except ValueError:
        return 0


def _label_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # JSON 1.0 and CSV "1" are the same class
    return str(value)
