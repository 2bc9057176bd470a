"""The drift report as one standalone HTML page: inline CSS and SVG, no scripts, no assets.

Each feature gets its distance, threshold and decision, and a bar chart of the reference and
current distributions as shares of their rows, so the two are comparable at any volume.
"""

from __future__ import annotations

from html import escape
from typing import Any

_W, _H, _PAD = 560, 170, 28
_REF, _CUR, _ALERT = "#9aa5b1", "#2f6fde", "#c62828"


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
    sections = [_feature(f) for f in (drift.get("features") or {}).values()]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><table class='summary'>{summary}</table>"
        f"<p class='legend'><span style='color:{_REF}'>&#9632;</span> reference "
        f"<span style='color:{_CUR}'>&#9632;</span> current</p>"
        + "".join(sections)
        + "</body></html>\n"
    )


def _feature(f: dict[str, Any]) -> str:
    drifted = bool(f.get("drifted"))
    badge = "<span class='bad'>drift</span>" if drifted else "<span class='ok'>no drift</span>"
    facts = (
        f"{escape(str(f.get('kind')))}, {escape(str(f.get('method')))} "
        f"{_num(f.get('statistic'))} (threshold {_num(f.get('threshold'))}), "
        f"PSI {_num(f.get('psi'))}"
    )
    if f.get("reason"):
        facts += f", {escape(str(f['reason']))}"
    return (
        f"<section><h2>{escape(str(f.get('name')))} {badge}</h2><p>{facts}</p>"
        f"{_chart(f.get('reference_hist') or {}, f.get('current_hist') or {}, drifted)}</section>"
    )


def _chart(ref: dict[str, Any], cur: dict[str, Any], drifted: bool) -> str:
    ref_counts, cur_counts = list(ref.get("counts") or []), list(cur.get("counts") or [])
    if not ref_counts:
        return "<p class='none'>no distribution to plot</p>"
    if "categories" in ref:
        labels = [str(c) for c in ref["categories"]]
    else:
        edges = ref.get("edges") or []
        labels = [f"{_num(a)}..{_num(b)}" for a, b in zip(edges, edges[1:], strict=False)]
    ref_share, cur_share = _shares(ref_counts), _shares(cur_counts or [0] * len(ref_counts))
    n = len(ref_share)
    top = max(max(ref_share), max(cur_share), 1e-12)
    slot = (_W - 2 * _PAD) / n
    bar = max(slot * 0.42, 0.5)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{_W}' height='{_H + 40}'>"]
    base = _H - _PAD / 2
    cur_color = _ALERT if drifted else _CUR
    for i, (r, c) in enumerate(zip(ref_share, cur_share, strict=False)):
        x = _PAD + i * slot
        label = escape(labels[i] if i < len(labels) else "")
        for offset, share, color, who in (
            (0.0, r, _REF, "reference"),
            (bar, c, cur_color, "current"),
        ):
            h = (base - _PAD / 2) * share / top
            parts.append(
                f"<rect x='{x + offset:.1f}' y='{base - h:.1f}' width='{bar:.1f}' "
                f"height='{h:.1f}' fill='{color}'><title>{label}"
                f" {who}: {share:.1%}</title></rect>"
            )
    parts.append(f"<line x1='{_PAD}' y1='{base}' x2='{_W - _PAD}' y2='{base}' stroke='#333'/>")
    step = max(1, n // 8)  # at most ~8 axis labels so they stay readable
    for i in range(0, n, step):
        label = labels[i] if i < len(labels) else ""
        parts.append(
            f"<text x='{_PAD + i * slot:.1f}' y='{base + 14}' font-size='10'>"
            f"{escape(label[:18])}</text>"
        )
    extra = [f"{k} {cur[k]}" for k in ("below", "above") if cur.get(k)]
    if extra:
        parts.append(
            f"<text x='{_PAD}' y='{base + 30}' font-size='10'>current outside the reference "
            f"range: {escape(', '.join(extra))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


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
)
