"""SageMaker data capture: JSON lines of requests, back into feature rows.

Each line is `{"captureData": {"endpointInput": {"observedContentType", "mode", "data",
"encoding"}, ...}, "eventMetadata": {"eventId", "inferenceTime"}, "eventVersion"}`. The input is
parsed with the model's own request parser, so whatever the endpoint accepted is read the same way.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd

from pipelines.steps.serving_features import align_features
from pipelines.steps.serving_input import CSV, RequestError, parse_body

_ERROR_SAMPLES = 5


@dataclass
class CaptureRows:
    frame: pd.DataFrame
    n_events: int = 0  # events in the window
    n_skipped: int = 0  # lines that could not be read
    errors: list[str] = field(default_factory=list)


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def hour_prefixes(start: datetime, end: datetime) -> list[str]:
    """The `yyyy/mm/dd/hh/` folders capture files of [start, end) can be in.

    SageMaker files an event under the hour it was written, a little after inference; one extra
    hour at the end catches events of the window's last minutes.
    """
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    stop = end.astimezone(UTC) + timedelta(hours=1)
    out = []
    while hour < stop:
        out.append(hour.strftime("%Y/%m/%d/%H/"))
        hour += timedelta(hours=1)
    return out


def parse_capture_lines(
    lines: Iterable[str],
    features: Sequence[str],
    kinds: Mapping[str, str],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> CaptureRows:
    """Feature rows of the events with start <= inferenceTime < end (no bounds: all events)."""
    metadata = {"features": list(features), "feature_kinds": dict(kinds)}
    plain_csv: list[str] = []  # headerless CSV rows, parsed in one go: the common, large case
    frames: list[pd.DataFrame] = []
    out = CaptureRows(frame=pd.DataFrame())
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            if start is not None or end is not None:
                when = parse_time(event["eventMetadata"]["inferenceTime"])
                if (start is not None and when < start) or (end is not None and when >= end):
                    continue
            data = event["captureData"]["endpointInput"]
            content_type = data.get("observedContentType", CSV)
            text = _decode(data)
            out.n_events += 1
            if content_type.split(";")[0].strip().lower() == CSV and not _has_header(
                text, features
            ):
                plain_csv.extend(r for r in text.splitlines() if r.strip())
            else:
                frames.append(align_features(parse_body(text, content_type), metadata))
        except (RequestError, ValueError, KeyError, TypeError) as exc:
            out.n_skipped += 1
            if len(out.errors) < _ERROR_SAMPLES:
                out.errors.append(f"line {number}: {type(exc).__name__}: {exc}")
    if plain_csv:
        rows = list(csv.reader(io.StringIO("\n".join(plain_csv))))
        good = [r for r in rows if len(r) == len(features)]
        if len(good) < len(rows):
            out.n_skipped += len(rows) - len(good)
            out.errors.append(f"{len(rows) - len(good)} CSV row(s) without {len(features)} values")
        if good:
            frames.extend(_typed_rows(pd.DataFrame(good).replace("", None), metadata, out))
    columns = list(features)
    out.frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return out


def _typed_rows(raw: pd.DataFrame, metadata: dict, out: CaptureRows) -> list[pd.DataFrame]:
    """The rows typed in one go; when some do not fit (captured by an older, laxer model), row
    by row, skipping those."""
    try:
        return [align_features(raw, metadata)]
    except ValueError:
        pass
    frames = []
    for _, row in raw.iterrows():
        try:
            frames.append(align_features(row.to_frame().T.reset_index(drop=True), metadata))
        except ValueError as exc:
            out.n_skipped += 1
            if len(out.errors) < _ERROR_SAMPLES:
                out.errors.append(f"CSV row: {exc}")
    return frames


def _decode(data: Mapping[str, str]) -> str:
    encoding = str(data.get("encoding", "CSV")).upper()
    payload = data["data"]
    if encoding == "BASE64":
        return base64.b64decode(payload).decode("utf-8")
    return payload


def _has_header(text: str, features: Sequence[str]) -> bool:
    first = text.split("\n", 1)[0]
    return set(features) <= {v.strip().strip('"') for v in first.split(",")}
