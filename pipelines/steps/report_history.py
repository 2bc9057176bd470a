"""The history page of an endpoint: drift score and model quality over its recent windows.

Built from the windows' JSON reports (the current one and those before it), one standalone HTML
page with inline SVG line charts, no scripts and no assets. A window without a decision (no
live model, no traffic, too few rows) is a gap in the drift line and a grey mark on its axis,
never a zero: no data is not "no drift".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from html import escape
from typing import Any

from pipelines.steps.capture import parse_time
from pipelines.steps.report_charts import format_share, format_value, line_chart
from pipelines.steps.report_html import _CSS

HISTORY_NAME = "history.html"
DEFAULT_WINDOWS = 48
# Window statuses that carry no drift decision.
_UNDECIDED = {"no_live_model", "no_data", "insufficient_data"}


def history_point(report: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the page shows of one window; None for a report without a readable window end."""
    try:
        end = parse_time(str(report.get("window_end") or ""))
    except ValueError:
        return None
    drift = report.get("drift") or {}
    status = str(report.get("status") or "")
    decided = status not in _UNDECIDED and drift.get("verdict") not in _UNDECIDED
    score = drift.get("drift_score") if decided else None
    quality = report.get("model_quality") or {}
    return {
        "end": end,
        "status": status,
        "model_version": str(report.get("model_version") or ""),
        "n_current": drift.get("n_current"),
        "drift_score": float(score) if isinstance(score, int | float) else None,
        "drifted": list(drift.get("drifted_features") or []),
        "metric": quality.get("metric"),
        "quality": quality.get("value") if isinstance(quality.get("value"), int | float) else None,
        "n_labelled": quality.get("n_labelled_rows"),
        "quality_status": quality.get("status"),
    }


def recent_points(reports: Iterable[Mapping[str, Any]], windows: int) -> list[dict[str, Any]]:
    """The last `windows` windows by end time, one point each (the later report of a window
    wins: a window run again replaces its report)."""
    by_end: dict[datetime, dict[str, Any]] = {}
    for report in reports:
        point = history_point(report)
        if point is not None:
            by_end[point["end"]] = point
    return [by_end[k] for k in sorted(by_end)][-max(1, windows) :]


def render_history(
    endpoint: str, reports: Iterable[Mapping[str, Any]], *, windows: int, link_prefix: str = ""
) -> str:
    """link_prefix: where the window folders are, seen from the page ("" or "../")."""
    points = recent_points(reports, windows)
    title = f"Monitoring history: {endpoint}"
    body = [f"<h1>{escape(title)}</h1>"]
    if not points:
        body.append("<p class='none'>no monitoring window yet</p>")
    else:
        first, last = points[0]["end"], points[-1]["end"]
        body.append(
            f"<p>{len(points)} windows (at most {windows}), ending {_when(first)} to "
            f"{_when(last)} UTC. Grey marks: windows without a decision.</p>"
        )
        body.append(_drift_chart(points))
        body.append(_quality_chart(points))
        body.append(_table(points, link_prefix))
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )


def _drift_chart(points: list[dict[str, Any]]) -> str:
    tips = [
        f"{_when(p['end'])}: drift score {format_share(p['drift_score'], 0.001)} of features, "
        f"{p['n_current']} rows"
        if p["drift_score"] is not None
        else f"{_when(p['end'])}: {p['status'] or 'no report'}, no decision"
        for p in points
    ]
    chart = line_chart(
        [p["end"] for p in points],
        [p["drift_score"] for p in points],
        tips=tips,
        fixed_range=(0.0, 1.0),
        fmt=format_share,
    )
    return f"<section><h2>Drift score (share of features drifted)</h2>{chart}</section>"


def _quality_chart(points: list[dict[str, Any]]) -> str:
    metric = next((str(p["metric"]) for p in reversed(points) if p["metric"]), None)
    if metric is None:
        return (
            "<section><h2>Model quality</h2>"
            "<p class='none'>no ground truth in these windows</p></section>"
        )
    # The latest window's metric; windows that measured another one (a config change) are gaps.
    values = [p["quality"] if p["metric"] == metric else None for p in points]
    tips = [
        f"{_when(p['end'])}: {metric} {format_value(v, 0.001)} on {p['n_labelled']} labelled rows"
        if v is not None
        else f"{_when(p['end'])}: {p['quality_status'] or 'no ground truth'}"
        for p, v in zip(points, values, strict=True)
    ]
    chart = line_chart([p["end"] for p in points], values, tips=tips)
    return f"<section><h2>Model quality: {escape(metric)}</h2>{chart}</section>"


def _table(points: list[dict[str, Any]], link_prefix: str) -> str:
    rows = []
    for p in reversed(points):  # newest first
        key = p["end"].strftime("%Y%m%dT%H%M%SZ")
        score = "n/a" if p["drift_score"] is None else format_share(p["drift_score"], 0.001)
        quality = "n/a" if p["quality"] is None else f"{p['metric']} {p['quality']:.4g}"
        rows.append(
            f"<tr{' class=flag' if p['drifted'] else ''}>"
            f"<td><a href='{link_prefix}{key}/drift_report.html'>{_when(p['end'])}</a></td>"
            f"<td>{escape(p['status'])}</td><td>{escape(p['model_version'])}</td>"
            f"<td>{p['n_current'] if p['n_current'] is not None else 'n/a'}</td><td>{score}</td>"
            f"<td>{escape(', '.join(p['drifted']))}</td><td>{escape(quality)}</td></tr>"
        )
    return (
        "<section><h2>Windows</h2><table class='grid'><tr><th>window end (UTC)</th>"
        "<th>status</th><th>model version</th><th>rows</th><th>drift score</th>"
        f"<th>drifted features</th><th>model quality</th></tr>{''.join(rows)}</table></section>"
    )


def _when(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


def history_pages(
    report: Mapping[str, Any], earlier: Iterable[Mapping[str, Any]], *, windows: int, key: str
) -> dict[str, str]:
    """The history pages to write, by path relative to the endpoint's report folder: one in the
    window's folder (`key`), and the endpoint's stable page unless a later window already ran
    (a window run again must not turn the stable page back in time)."""
    earlier = list(earlier)
    endpoint = str(report.get("endpoint_name") or "")
    reports = [*earlier, report]
    pages = {
        f"{key}/{HISTORY_NAME}": render_history(
            endpoint, reports, windows=windows, link_prefix="../"
        )
    }
    this = history_point(report)
    later = [p for p in map(history_point, earlier) if p and this and p["end"] > this["end"]]
    if not later:
        pages[HISTORY_NAME] = render_history(endpoint, reports, windows=windows)
    return pages
