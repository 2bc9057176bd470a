"""The drift report as one standalone HTML page: inline CSS and SVG, no scripts, no assets.

Model quality, prediction drift and data quality come first (pipelines.steps.report_quality),
then the features, most severe first (pipelines.steps.report_order): each with its figure, threshold
and decision, and a bar chart of the reference and current distributions as shares of their
rows, so the two are comparable at any volume. The charts are pipelines.steps.report_charts.
"""

from __future__ import annotations

from html import escape
from typing import Any

from pipelines.steps.report_charts import (
    ALERT_COLOR,
    CUR_COLOR,
    REF_COLOR,
    bar_chart,
    format_value,
)
from pipelines.steps.report_order import alpha_of, by_severity, severity
from pipelines.steps.report_quality import quality_sections

HISTORY_LINK = "history.html"  # written next to each window's report


def render_html(report: dict[str, Any]) -> str:
    """report: the monitoring report (window, endpoint, model and the drift engine's to_dict)."""
    drift = report.get("drift") or {}
    title = f"Drift report: {report.get('endpoint_name', '')}"
    rows = [
        ("status", report.get("status", "")),
        ("window", f"{report.get('window_start', '')} to {report.get('window_end', '')}"),
        ("model version", report.get("model_version", "")),
        ("captured rows", drift.get("n_current", 0)),
        ("reference rows", drift.get("n_reference", 0)),
        ("drift score", _num(drift.get("drift_score"))),
        ("drifted features", ", ".join(drift.get("drifted_features", [])) or "none"),
    ]
    if report.get("message"):
        rows.insert(1, ("message", report["message"]))
    summary = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    alpha = alpha_of(drift)
    features = [
        {**f, "severity": severity(f, alpha=alpha)}
        for f in by_severity(drift.get("features"), alpha=alpha)
    ]
    outputs = report.get("prediction_drift") or {}

    def output(f: dict[str, Any]) -> str:  # a prediction output, decided by the same engine
        return _feature({**f, "severity": severity(f, alpha=alpha_of(outputs))})

    sections = quality_sections(report, output)
    sections += [_feature_table(features)]
    sections += [_feature(f) for f in features]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><table class='summary'>{summary}</table>"
        f"<p><a href='{HISTORY_LINK}'>history of this endpoint</a></p>"
        f"<p class='legend'><span style='color:{REF_COLOR}'>&#9632;</span> reference "
        f"<span style='color:{CUR_COLOR}'>&#9632;</span> current "
        f"<span style='color:{ALERT_COLOR}'>&#9632;</span> current, drifted</p>"
        + "".join(sections)
        + "</body></html>\n"
    )


def _feature_table(features: list[dict[str, Any]]) -> str:
    """One line per feature, most severe first, each linking to its chart."""
    if not features:
        return ""
    rows = "".join(
        f"<tr{' class=flag' if f.get('drifted') else ''}><td><a href='#{_anchor(f)}'>"
        f"{escape(str(f.get('name')))}</a></td><td>{'drift' if f.get('drifted') else 'no drift'}"
        f"</td><td>{_times(f.get('severity'))}</td><td>{escape(str(f.get('method')))}</td>"
        f"<td>{_num(f.get('statistic'))}</td><td>{_num(f.get('threshold'))}</td>"
        f"<td>{escape(TEST_NAMES.get(str(f.get('test')), 'n/a'))}</td>"
        f"<td>{_num(f.get('p_adjusted'))}</td>"
        f"<td>{escape(str(f.get('reason') or ''))}</td></tr>"
        for f in features
    )
    return (
        "<section><h2>Features by severity</h2><table class='grid'><tr><th>feature</th>"
        "<th>decision</th><th>severity</th><th>method</th><th>statistic</th><th>threshold</th>"
        f"<th>test</th><th>p (Holm)</th><th>note</th></tr>{rows}</table></section>"
    )


# the test behind a feature's p-value (pipelines.drift.check), as a reader knows it
TEST_NAMES = {"cvm": "Cramér-von Mises", "chi2": "chi-square"}


def _anchor(f: dict[str, Any]) -> str:
    return "f-" + "".join(c if c.isalnum() else "_" for c in str(f.get("name")))


def _times(value: float | None) -> str:
    """A severity as a multiple of the decision boundary."""
    if value is None:
        return "n/a"
    return "beyond any" if value == float("inf") else f"{value:.2f}\u00d7 the boundary"


def _feature(f: dict[str, Any]) -> str:
    drifted = bool(f.get("drifted"))
    badge = "<span class='bad'>drift</span>" if drifted else "<span class='ok'>no drift</span>"
    facts = (
        f"{escape(str(f.get('kind')))}, {escape(str(f.get('method')))} "
        f"{_num(f.get('statistic'))} (threshold {_num(f.get('threshold'))}), "
        f"PSI {_num(f.get('psi'))}, severity {_times(f.get('severity'))}"
    )
    if f.get("reason"):
        facts += f", {escape(str(f['reason']))}"
    return (
        f"<section id='{_anchor(f)}'><h2>{escape(str(f.get('name')))} {badge}</h2><p>{facts}</p>"
        f"{_chart(f.get('reference_hist') or {}, f.get('current_hist') or {}, drifted)}</section>"
    )


def _chart(ref: dict[str, Any], cur: dict[str, Any], drifted: bool) -> str:
    ref_counts, cur_counts = list(ref.get("counts") or []), list(cur.get("counts") or [])
    if not ref_counts:
        return "<p class='none'>no distribution to plot</p>"
    ref_share, cur_share = _shares(ref_counts), _shares(cur_counts or [0] * len(ref_counts))
    outside = [f"{k} {format_value(cur[k], 1)}" for k in ("below", "above") if cur.get(k)]
    note = f"current rows outside the reference range: {', '.join(outside)}" if outside else ""
    if "categories" in ref:
        return bar_chart(
            ref_share, cur_share, categories=[str(c) for c in ref["categories"]],
            alert=drifted, note=note,
        )  # fmt: skip
    return bar_chart(ref_share, cur_share, edges=ref.get("edges") or [], alert=drifted, note=note)


def _shares(counts: list[float]) -> list[float]:
    total = float(sum(counts))
    return [c / total if total else 0.0 for c in counts]


def _num(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
    "table.summary th{text-align:left;padding-right:1em}"
    "section{border-top:1px solid #ddd;margin-top:1em}"
    ".bad{color:#fff;background:#c62828;padding:0 .4em;border-radius:3px;font-size:.7em}"
    ".ok{color:#fff;background:#2e7d32;padding:0 .4em;border-radius:3px;font-size:.7em}"
    ".legend,.none{color:#555}"
    "table.grid{border-collapse:collapse;margin:.5em 0}"
    "table.grid td,table.grid th{border:1px solid #ddd;padding:.1em .5em;text-align:left}"
    "tr.flag td{background:#fdecea}"
)
