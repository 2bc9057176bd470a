"""Validate's labelled traffic (retrain.labelled_traffic): the capture and ground-truth object
versions of the run's manifest, read by VersionId as the data objects are (data_input.py), joined
into training rows (pipelines/steps/labelled.py) and written as one CSV per capture object, which
Validate then checks like an uploaded object: the same reader, types and schema.

The job's role holds s3:GetObjectVersion on the endpoint's `capture/` and `ground-truth/` folders
for this, only when the switch is on. A version that is gone (capture expires after
data.capture_expiry_days) is recorded as not read, as for the data objects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.entrypoints.data_input import DataObject, RunData, fetch
from pipelines.schema import DatasetSchema
from pipelines.steps.capture import parse_time
from pipelines.steps.ground_truth import LabelRecords, parse_label_lines
from pipelines.steps.labelled import captured_rows, labelled_rows


@dataclass
class LabelledInput:
    """What was read for the labelled traffic, and the rows of each capture object on disk."""

    since: str
    until: str
    capture: RunData
    ground_truth: RunData
    # (capture object, its labelled rows as CSV, how many rows)
    files: list[tuple[DataObject, Path, int]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def record(self, accepted: dict[int, bool]) -> dict[str, Any]:
        """`data_objects.json`'s `labelled_traffic`: every capture and ground-truth version
        read, the rows each capture object gave to training (`labelled_rows`), and the capture
        objects whose rows Validate rejected (`accepted` maps an index of `files`)."""
        trained = {
            (obj.key, obj.version_id): rows
            for i, (obj, _, rows) in enumerate(self.files)
            if accepted.get(i)
        }
        return {
            "since": self.since,
            "until": self.until,
            "capture": [
                {
                    **entry,
                    "labelled_rows": trained.get((entry["key"], entry["version_id"]), 0),
                }
                for entry in self.capture.record()["objects"]
            ],
            "ground_truth": self.ground_truth.record()["objects"],
            "not_read": [{**asdict(o), "reason": r} for o, r in self.not_read()],
            "rows": sum(trained.values()),
            **self.stats,
        }

    @property
    def bucket(self) -> str:
        """The data bucket, where the rejected rows are quarantined."""
        return next(obj.bucket for obj, _, _ in self.files)

    def not_read(self) -> list[tuple[DataObject, str]]:
        return self.capture.not_read + self.ground_truth.not_read

    def label_entries(self) -> list[dict[str, Any]]:
        return self.ground_truth.record()["objects"]

    def rejected(self, accepted: dict[int, bool], reasons: dict[int, list[str]]) -> list[dict]:
        return [
            {**asdict(obj), "rows": rows, "reasons": reasons.get(i, [])}
            for i, (obj, _, rows) in enumerate(self.files)
            if not accepted.get(i)
        ]


def read_labelled(
    section: dict[str, Any], schema: DatasetSchema, dest: Path, s3: Any
) -> LabelledInput:
    """Fetch the manifest's `labelled_traffic` versions into `dest` and join them."""
    capture_entries = section.get("capture", [])
    label_entries = section.get("ground_truth", [])
    # When S3 received each label version: the tie-break after eventVersion (ground_truth.py).
    uploaded = {
        (e["key"], str(e.get("version_id"))): e.get("last_modified", "") for e in label_entries
    }
    capture = fetch(
        [DataObject.from_entry(e) for e in capture_entries],
        dest / "capture",
        s3,
        RunData(manifest_uri=""),
    )
    ground_truth = fetch(
        [DataObject.from_entry(e) for e in label_entries],
        dest / "ground-truth",
        s3,
        RunData(manifest_uri=""),
    )
    labels = LabelRecords()
    for obj, path in ground_truth.read:
        when = uploaded.get((obj.key, str(obj.version_id))) or section["until"]
        labels.extend(parse_label_lines(_lines(path), source=obj.key, uploaded=parse_time(when)))
    features = list(schema.feature_kinds)
    rows = captured_rows(
        ((i, _lines(path)) for i, (_, path) in enumerate(capture.read)),
        features,
        since=parse_time(section["since"]),
        until=parse_time(section["until"]),
    )
    joined = labelled_rows(rows, labels.records, schema)
    out = LabelledInput(
        since=section["since"],
        until=section["until"],
        capture=capture,
        ground_truth=ground_truth,
        stats={
            **joined.stats,
            "unreadable_label_lines": labels.n_skipped,
            "label_errors": labels.errors,
        },
    )
    rows_dir = dest / "rows"
    rows_dir.mkdir(parents=True, exist_ok=True)
    for source, frame in joined.by_source.items():
        obj, _ = capture.read[source]
        path = rows_dir / f"{source:06d}-labelled.csv"
        frame.to_csv(path, index=False)
        out.files.append((obj, path, len(frame)))
    return out


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()
