"""SageMaker data capture: JSON lines of requests, back into feature rows.

Each line is `{"captureData": {"endpointInput": {"observedContentType", "mode", "data",
"encoding"}, "endpointOutput": {...}}, "eventMetadata": {"eventId", "inferenceId" (when the caller
passed one), "inferenceTime"}, "eventVersion"}`. The input is parsed with the model's own request
parser, so whatever the endpoint accepted is read the same way. On request, the untyped feature
values (data quality) and each event's ids and output (model quality, prediction drift) come too.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from pipelines.steps.serving_features import align_features
from pipelines.steps.serving_input import CSV, RequestError, parse_body

_ERROR_SAMPLES = 5


@dataclass(frozen=True)
class CapturedEvent:
    """One captured request: its ids and what the model answered (None: output not captured)."""

    event_id: str
    inference_id: str | None
    inference_time: datetime
    output_type: str | None
    output: str | None

    @property
    def key(self) -> str:
        """What a ground-truth record names: the caller's inferenceId, else the eventId."""
        return self.inference_id or self.event_id


@dataclass
class CaptureRows:
    frame: pd.DataFrame
    n_events: int = 0  # events in the window
    n_skipped: int = 0  # lines that could not be read
    errors: list[str] = field(default_factory=list)
    raw: pd.DataFrame | None = None  # the feature values as sent, untyped, row for row (keep_raw)


@dataclass
class CapturedEvents:
    events: list[CapturedEvent] = field(default_factory=list)
    n_skipped: int = 0
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
    keep_raw: bool = False,
) -> CaptureRows:
    """Feature rows of the events with start <= inferenceTime < end (no bounds: all events)."""
    metadata = {"features": list(features), "feature_kinds": dict(kinds)}
    plain_csv: list[str] = []  # headerless CSV rows, parsed in one go: the common, large case
    frames: list[pd.DataFrame] = []
    raws: list[pd.DataFrame] = []
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
                parsed = parse_body(text, content_type)
                frames.append(align_features(parsed, metadata))
                if keep_raw:
                    raws.append(named_raw(parsed, features))
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
            for typed, raw in _typed_rows(pd.DataFrame(good).replace("", None), metadata, out):
                frames.append(typed)
                if keep_raw:
                    raws.append(raw.set_axis(list(features), axis=1))
    columns = list(features)
    out.frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    if keep_raw:
        out.raw = pd.concat(raws, ignore_index=True) if raws else pd.DataFrame(columns=columns)
    return out


def _typed_rows(
    raw: pd.DataFrame, metadata: dict, out: CaptureRows
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """(typed, raw) pairs of the rows, typed in one go; when some do not fit (captured by an
    older, laxer model), row by row, skipping those (from both, so the two stay row for row)."""
    try:
        return [(align_features(raw, metadata), raw)]
    except ValueError:
        pass
    frames = []
    for _, row in raw.iterrows():
        one = row.to_frame().T.reset_index(drop=True)
        try:
            frames.append((align_features(one, metadata), one))
        except ValueError as exc:
            out.n_skipped += 1
            if len(out.errors) < _ERROR_SAMPLES:
                out.errors.append(f"CSV row: {exc}")
    return frames


def parse_captured_events(
    lines: Iterable[str], *, start: datetime, end: datetime
) -> CapturedEvents:
    """The ids, time and output of the events with start <= inferenceTime < end; the inputs
    are not parsed (model quality over a long look-back reads only what the model answered)."""
    out = CapturedEvents()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            when = parse_time(event["eventMetadata"]["inferenceTime"])
            if start <= when < end:
                out.events.append(_captured_event(event, when))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            out.n_skipped += 1
            if len(out.errors) < _ERROR_SAMPLES:
                out.errors.append(f"line {number}: {type(exc).__name__}: {exc}")
    return out


def _captured_event(event: Mapping, when: datetime) -> CapturedEvent:
    meta = event["eventMetadata"]
    output = event["captureData"].get("endpointOutput")
    return CapturedEvent(
        event_id=str(meta["eventId"]),
        inference_id=str(meta["inferenceId"]) if meta.get("inferenceId") else None,
        inference_time=when,
        output_type=output.get("observedContentType", CSV) if output else None,
        output=_decode(output) if output else None,
    )


def named_raw(parsed: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """The parsed request with the features' names, values untouched. Positional rows of
    another width than the features raise ValueError (set_axis)."""
    if len(parsed.columns) and all(isinstance(c, int | np.integer) for c in parsed.columns):
        first = [str(v).strip() for v in parsed.iloc[0].tolist()] if len(parsed) else []
        if first and set(features) <= set(first):
            parsed = parsed.iloc[1:].set_axis(first, axis=1)
        else:
            parsed = parsed.set_axis(list(features), axis=1)
    return parsed.reindex(columns=list(features)).reset_index(drop=True)


def captured_request(
    event: Mapping, features: Sequence[str], when: datetime
) -> tuple[CapturedEvent, pd.DataFrame]:
    """One capture record's ids and time (`when`, its parsed inferenceTime), and its request
    rows named by the features, the values as the caller sent them (labelled traffic:
    pipelines/steps/labelled.py)."""
    data = event["captureData"]["endpointInput"]
    parsed = parse_body(_decode(data), data.get("observedContentType", CSV))
    return _captured_event(event, when), named_raw(parsed, features)


def _decode(data: Mapping[str, str]) -> str:
    encoding = str(data.get("encoding", "CSV")).upper()
    payload = data["data"]
    if encoding == "BASE64":
        return base64.b64decode(payload).decode("utf-8")
    return payload


def _has_header(text: str, features: Sequence[str]) -> bool:
    first = text.split("\n", 1)[0]
    return set(features) <= {v.strip().strip('"') for v in first.split(",")}
