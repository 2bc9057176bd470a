"""Monitor: one window of captured requests against the live model's baseline.

    python -m pipelines.entrypoints.monitor --schema <parts> --endpoint-name NAME
        --capture-uri s3://<data>/capture/<endpoint>/ --live-record-uri s3://<artifacts>/live/<endpoint>.json
        --namespace <prefix>/Drift [--thresholds <parts>] [--default-threshold 0.1]
        [--confidence 0.99] [--min-window-rows 30] [--window-minutes 60]
        [--window-end 2026-01-01T00:00:00Z] [--output DIR]
        [--history-uri s3://<artifacts>/monitoring/<endpoint>/ --history-windows 48]
        [--ground-truth-uri s3://<data>/ground-truth/<endpoint>/ --metric roc_auc
         --lookback-hours 24 --min-labelled-rows 100] [--data-quality-min-rows 100]

Reads (boto3, since none of it can be a declared input): the live record, the baseline and the
evaluation it points to, the capture files of the window's hours, with ground truth the labels
uploaded since the look-back began and the capture files of the look-back, and the JSON reports
of the windows before this one under --history-uri. The reports are no ProcessingInput on
purpose: SageMaker fails a job whose input prefix holds no object (an endpoint's first window
has no earlier report), and the prefix grows by a window every run, while only the last
--history-windows are wanted; the listing starts at the oldest wanted window's key, so it stays
as short as the history. Writes `--output/<window end>/drift_report.json`, `drift_report.html`
and `history.html`, and `--output/history.html`, the endpoint's one stable page (the
ProcessingOutput uploads them under `monitoring/<endpoint>/`), and puts `drift_score`,
`feature_baseline_drift_<feature>`, `prediction_drift_<output>`, `data_quality_*` and
`model_quality_<metric>` to CloudWatch. No live model yet: a report saying so, no metrics,
exit 0. Fewer captured rows than --min-window-rows: the report says insufficient_data and no
drift metric is put, so the alarms see missing data (treated as not breaching), never drift.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.drift import ReferenceProfile
from pipelines.drift.check import DEFAULT_CONFIDENCE, DEFAULT_MIN_ROWS
from pipelines.entrypoints.common import (
    PROCESSING_MESSAGE_FILE,
    add_schema_argument,
    fail,
    log,
    read_s3_text,
    s3_client,
    split_s3_uri,
    unpack_json,
    unpack_schema,
    write_json,
)
from pipelines.entrypoints.monitor_quality import (
    CaptureRead,
    hour_objects,
    lookback_start,
    model_quality,
    prediction_drift,
    read_json,
)
from pipelines.schema import DatasetSchema
from pipelines.steps.capture import (
    parse_capture_lines,
)
from pipelines.steps.data_quality import DataQualityCounts, data_quality_section
from pipelines.steps.monitor import (
    KEY_TIME_FORMAT,
    base_report,
    drift_report,
    metric_data,
    metric_values_data,
    no_live_model_report,
    quality_values,
    window_bounds,
)
from pipelines.steps.report_history import DEFAULT_WINDOWS, history_pages
from pipelines.steps.report_html import render_html

REPORT_NAME = "drift_report"
_METRICS_PER_CALL = 20


def capture_chunks(
    client: Any,
    capture_uri: str,
    schema: DatasetSchema,
    start: datetime,
    end: datetime,
    stats: dict[str, Any],
    quality: DataQualityCounts | None = None,
    read: CaptureRead | None = None,
) -> Iterator[pd.DataFrame]:
    """One frame per capture file of the window, across all variants of the endpoint; the
    untyped rows go to `quality`, the objects and their events (ids and outputs) to `read`."""
    features = [f.name for f in schema.features]
    for key, _modified, lines in hour_objects(client, capture_uri, start, end, variants=True):
        rows = parse_capture_lines(
            lines,
            features,
            schema.feature_kinds,
            start=start,
            end=end,
            keep_raw=quality is not None,
        )
        if quality is not None and rows.raw is not None:
            quality.update(rows.raw, rows.frame)
        if read is not None:
            read.add(key, lines, end)
        stats["files"] += 1
        stats["events"] += rows.n_events
        stats["skipped"] += rows.n_skipped
        stats["errors"].extend(rows.errors[: max(0, 5 - len(stats["errors"]))])
        if len(rows.frame):
            yield rows.frame


def publish(data: list[dict[str, Any]], namespace: str) -> None:
    import boto3

    client = boto3.client("cloudwatch")
    for i in range(0, len(data), _METRICS_PER_CALL):
        client.put_metric_data(Namespace=namespace, MetricData=data[i : i + _METRICS_PER_CALL])


def earlier_reports(
    client: Any, history_uri: str, end: datetime, window_minutes: int, windows: int
) -> list[dict[str, Any]]:
    """The JSON reports of the windows that ended in the `windows` window lengths before `end`
    (and any later one, a window run again); unreadable ones are skipped with a log line."""
    if not history_uri or windows <= 0:
        return []
    bucket, prefix = split_s3_uri(history_uri)
    prefix = prefix.rstrip("/") + "/"
    oldest = end - timedelta(minutes=window_minutes * windows)
    this = f"{prefix}{end.strftime(KEY_TIME_FORMAT)}/"
    keys = [
        obj["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, StartAfter=prefix + oldest.strftime(KEY_TIME_FORMAT)
        )
        for obj in page.get("Contents", [])
        if obj["Key"].endswith(f"/{REPORT_NAME}.json") and not obj["Key"].startswith(this)
    ]
    reports = []
    for key in sorted(keys):
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            reports.append(json.loads(body))
        except (ValueError, UnicodeDecodeError) as err:
            log(f"history: skipped s3://{bucket}/{key}: {err}")
    return reports


def write_report(
    report: dict[str, Any],
    output: Path,
    end: datetime,
    earlier: list[dict[str, Any]] | None = None,
    history_windows: int = DEFAULT_WINDOWS,
) -> Path:
    key = end.strftime(KEY_TIME_FORMAT)
    folder = output / key
    write_json(folder / f"{REPORT_NAME}.json", report)
    (folder / f"{REPORT_NAME}.html").write_text(render_html(report), encoding="utf-8")
    pages = history_pages(report, earlier or [], windows=history_windows, key=key)
    for path, page in pages.items():
        (output / path).write_text(page, encoding="utf-8")
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_schema_argument(parser)
    parser.add_argument("--thresholds", nargs="+", default=None, help="pack_json parts")
    parser.add_argument("--default-threshold", type=float, default=0.1)
    parser.add_argument("--confidence", type=float, default=DEFAULT_CONFIDENCE)
    parser.add_argument("--min-window-rows", type=int, default=DEFAULT_MIN_ROWS)
    parser.add_argument("--endpoint-name", required=True)
    parser.add_argument("--capture-uri", required=True)
    parser.add_argument("--live-record-uri", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--window-minutes", type=int, default=60)
    parser.add_argument("--window-end", default="", help="ISO time; empty: now")
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing/output/report"))
    parser.add_argument("--history-uri", default="", help="earlier reports; empty: no history")
    parser.add_argument("--history-windows", type=int, default=DEFAULT_WINDOWS)
    parser.add_argument("--message-file", type=Path, default=Path(PROCESSING_MESSAGE_FILE))
    parser.add_argument("--ground-truth-uri", default="", help="empty: no model quality")
    parser.add_argument("--metric", default="")
    parser.add_argument("--lookback-hours", type=int, default=24)
    parser.add_argument("--min-labelled-rows", type=int, default=100)
    parser.add_argument("--data-quality-min-rows", type=int, default=100)
    args = parser.parse_args(argv)

    schema = unpack_schema(args.schema)
    thresholds = unpack_json(args.thresholds) if args.thresholds else {}
    start, end = window_bounds(args.window_end, args.window_minutes)
    client = s3_client()
    windows = args.history_windows
    earlier = earlier_reports(client, args.history_uri, end, args.window_minutes, windows)
    live_text = read_s3_text(args.live_record_uri, client)
    if live_text is None:
        folder = write_report(
            no_live_model_report(args.endpoint_name, start, end), args.output, end, earlier, windows
        )
        log(f"no live model for {args.endpoint_name}; report in {folder}")
        return
    live = json.loads(live_text)
    report = base_report(args.endpoint_name, start, end, live)
    baseline_uri = live.get("baseline_uri") or ""
    baseline_text = read_s3_text(baseline_uri, client) if baseline_uri else None
    if baseline_text is None:
        fail(f"live model has no readable baseline ({baseline_uri!r})", args.message_file)
    stats: dict[str, Any] = {"files": 0, "events": 0, "skipped": 0, "errors": []}
    profile = ReferenceProfile.from_json(baseline_text)
    quality = DataQualityCounts.start(schema, profile)
    # the window's objects are read once: their events from the look-back's start on serve
    # prediction drift (the window's) and model quality (the look-back's)
    read = CaptureRead(since=min(start, lookback_start(end, args.lookback_hours, live)))
    report, result = drift_report(
        report,
        profile,
        capture_chunks(client, args.capture_uri, schema, start, end, stats, quality, read),
        thresholds=thresholds,
        default_threshold=args.default_threshold,
        confidence=args.confidence,
        min_window_rows=args.min_window_rows,
    )
    report["capture"] = stats
    report["data_quality"] = data_quality_section(
        quality, profile, min_rows=args.data_quality_min_rows
    )
    evaluation = read_json(live.get("evaluation_uri") or "", client)
    report["prediction_drift"] = prediction_drift(
        evaluation, read.events_since(start), schema.problem_type, args.default_threshold
    )
    if args.ground_truth_uri and args.metric:
        report["model_quality"] = model_quality(
            client,
            ground_truth_uri=args.ground_truth_uri,
            capture_uri=args.capture_uri,
            schema=schema,
            live=live,
            end=end,
            read=read,
            metric=args.metric,
            lookback_hours=args.lookback_hours,
            min_labelled_rows=args.min_labelled_rows,
            window_minutes=args.window_minutes,
        )
    folder = write_report(report, args.output, end, earlier, windows)
    now = datetime.now(UTC)
    data = metric_data(result, args.endpoint_name, report["model_version"], now)
    data += metric_values_data(
        quality_values(report), args.endpoint_name, report["model_version"], now
    )
    if data:
        publish(data, args.namespace)
    quality_section = report.get("model_quality") or {}
    log(
        f"{report['status']}: drift_score={result.drift_score:.3f} over {result.n_current} rows "
        f"({stats['files']} files); model quality {quality_section.get('status', 'off')} "
        f"({quality_section.get('n_labelled_rows', 0)} labelled rows); {len(data)} metric values; "
        f"report in {folder}"
    )


if __name__ == "__main__":
    main()
