"""The report's sections on model quality (ground truth), prediction drift and data quality.

report_html puts them before the features; each section is empty when its part of the report is
missing (a report written before the monitoring step measured it).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any


def quality_sections(report: dict[str, Any], feature: Callable[[dict], str]) -> list[str]:
    """feature: how the page renders one drift engine result (a prediction output here)."""
    return [
        _model_quality(report.get("model_quality")),
        _prediction_drift(report.get("prediction_drift"), feature),
        _data_quality(report.get("data_quality")),
    ]


def _table(head: list[str], rows: list[list[Any]], bad: set[int] | None = None) -> str:
    """bad: indexes of rows to flag."""
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        f"<tr{' class=flag' if i in (bad or set()) else ''}>"
        + "".join(f"<td>{escape(_num(v))}</td>" for v in row)
        + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table class='grid'><tr>{th}</tr>{body}</table>"


def _model_quality(q: dict[str, Any] | None) -> str:
    if not q:
        return ""
    value = q.get("value")
    head = (
        f"{escape(str(q.get('metric')))} {_num(value)} on {q.get('n_labelled_rows', 0)} "
        f"labelled rows"
        if value is not None
        else escape(str(q.get("message") or q.get("status", "")))
    )
    facts = (
        f"predictions {q.get('lookback_start', '')} to {q.get('lookback_end', '')}: "
        f"{q.get('n_predictions', 0)}; label records {q.get('n_label_records', 0)}, "
        f"of which naming no captured request {q.get('n_unmatched_records', 0)}, with another "
        f"number of rows {q.get('n_wrong_count_records', 0)}, replaced by a later record "
        f"{q.get('n_duplicate_records', 0)}; labels that are no class "
        f"{q.get('n_unusable_labels', 0)}"
    )
    metrics = _table(["metric", "value"], [[k, v] for k, v in (q.get("metrics") or {}).items()])
    windows = _table(
        ["window", "predictions", "labelled", "labels that came late", str(q.get("metric"))],
        [
            [f"{w['window_start']} to {w['window_end']}", w["n_predictions"],
             w["n_labelled_rows"], w["n_late_labels"], w.get("value")]
            for w in q.get("windows") or []
        ],
    )  # fmt: skip
    return (
        f"<section><h2>Model quality</h2><p><b>{head}</b></p><p>{facts}</p>{metrics}"
        f"<h3>By window of prediction</h3>{windows}</section>"
    )


def _prediction_drift(p: dict[str, Any] | None, feature: Callable[[dict], str]) -> str:
    if not p:
        return ""
    if p.get("status") == "no_baseline":
        return f"<section><h2>Prediction drift</h2><p>{escape(p.get('message', ''))}</p></section>"
    outputs = "".join(feature(f) for f in (p.get("features") or {}).values())
    return (
        f"<section><h2>Prediction drift</h2><p>{p.get('n_current', 0)} answers against "
        f"{p.get('n_reference', 0)} on the test split: {escape(str(p.get('status')))}</p>"
        f"{outputs}</section>"
    )


def _data_quality(d: dict[str, Any] | None) -> str:
    if not d:
        return ""
    rows, bad = [], set()
    for name, checks in (d.get("features") or {}).items():
        for check, f in checks.items():
            if (f.get("excess") or 0) > 0:
                bad.add(len(rows))
            rows.append([name, check.replace("_", " "), f["count"], _share(f["share"]),
                         _share(f["baseline_share"])])  # fmt: skip
    score = d.get("score")
    head = (
        f"largest excess over training {_share(score)} over {d.get('n_rows', 0)} rows"
        if score is not None
        else f"{d.get('n_rows', 0)} rows, fewer than {d.get('min_rows')}: not published"
    )
    table = _table(["feature", "check", "count", "share", "in training"], rows, bad)
    return f"<section><h2>Data quality</h2><p>{escape(head)}</p>{table}</section>"


def _share(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _num(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
