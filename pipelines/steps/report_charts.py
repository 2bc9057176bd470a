"""Static SVG charts for the reports: bars of two distributions and lines over time.

Drawn by hand on purpose: the step runs in a processing container with no network and only the
image's packages plus the code bundle, and these two chart kinds need ~200 lines (a plotting
library would add megabytes to every container for them). What a library would give for free is
written once here: nice-number ticks, formatted values, and axis labels that never overlap
(thinned, rotated, or truncated with the full text in a `<title>` tooltip).

Label widths are estimated as characters x font size x CHAR_EM, an upper bound for the
sans-serif fonts browsers pick, so the spacing decided here holds on screen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from html import escape

FONT = 11  # px, every axis label
CHAR_EM = 0.62  # a sans-serif character's advance width, at most, in em (digits are ~0.55)
LINE = 1.25  # line height of a label, in em
MAX_LABEL_CHARS = 22  # longer category names are cut, the full name kept in a tooltip
ANGLE = 45  # degrees: rotation of category labels that do not fit side by side
WIDTH = 620
REF_COLOR, CUR_COLOR, ALERT_COLOR, GRID = "#9aa5b1", "#2f6fde", "#c62828", "#e3e6ea"
_LEFT, _RIGHT, _TOP = 52, 16, 12
X_LABEL = "x-label"  # the class of the labels along a chart's x axis
X_LABEL_DY = FONT + 7  # their baseline below the axis: clear of tick marks and the lowest y value


def text_width(text: str, font: float = FONT) -> float:
    return len(text) * font * CHAR_EM


def nice_ticks(lo: float, hi: float, max_ticks: int = 6) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten) covering [lo, hi] (Heckbert's method)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = _nice((hi - lo) / max(1, max_ticks - 1))
    first = math.floor(lo / step) * step
    count = math.ceil(hi / step - first / step - 1e-9) + 1
    return [_clean(first + i * step) for i in range(count)]


def _nice(x: float) -> float:
    """1, 2 or 5 times a power of ten, the nearest to x."""
    power = 10 ** math.floor(math.log10(x))
    for m, below in ((1, 1.5), (2, 3.0), (5, 7.0)):
        if x / power < below:
            return m * power
    return 10 * power


def _clean(v: float) -> float:
    return 0.0 if abs(v) < 1e-12 else float(f"{v:.12g}")


def format_value(v: float, step: float) -> str:
    """A tick value with as many decimals as its step needs; thousands as k, millions as M."""
    size, suffix = max(abs(v), abs(step)), ""
    for scale, name in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= 10 * scale:
            v, step, suffix = v / scale, step / scale, name
            break
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    return f"{v:.{min(decimals, 6)}f}{suffix}"


def format_share(v: float, step: float) -> str:
    return format_value(v * 100, step * 100) + "%"


def truncate(label: str, limit: int = MAX_LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def _text(x: float, y: float, text: str, *, anchor: str = "middle", extra: str = "") -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{FONT}' text-anchor='{anchor}'{extra}>"
        f"{escape(text)}</text>"
    )


def level_positions(xs: Sequence[float], labels: Sequence[str]) -> list[float] | None:
    """Centres for level labels at xs, moved inside the chart where they would cross its edge;
    None when two of them would come closer than half a character."""
    centres = []
    for x, label in zip(xs, labels, strict=True):
        half = text_width(label) / 2
        centres.append(min(max(x, half + 1), WIDTH - half - 1))
    for (a, la), (b, lb) in zip(
        zip(centres, labels, strict=True), list(zip(centres, labels, strict=True))[1:], strict=False
    ):
        if b - text_width(lb) / 2 - (a + text_width(la) / 2) < FONT / 2:
            return None
    return centres


def _value_axis(lo: float, hi: float, x_of, fmt) -> list[tuple[float, float, str]]:
    """(tick x, label centre, label): the most nice ticks over [lo, hi] whose labels fit."""
    for wanted in range(8, 1, -1):
        ticks = [t for t in nice_ticks(lo, hi, wanted) if lo - 1e-12 <= t <= hi + 1e-12]
        if len(ticks) < 2:
            continue
        step = ticks[1] - ticks[0]
        labels = [fmt(t, step) for t in ticks]
        xs = [x_of(t) for t in ticks]
        centres = level_positions(xs, labels)
        if centres is not None:
            return list(zip(xs, centres, labels, strict=True))
    return [(x_of(lo), x_of(lo), fmt(lo, (hi - lo) or 1.0))]


def _y_axis(top: float, height: float, base: float, x0: float, x1: float, fmt) -> list[str]:
    """Horizontal grid lines with their values on the left, ticks at least 2 lines apart."""
    count = max(2, min(6, int(height // (FONT * LINE * 2))))
    ticks = nice_ticks(0.0, top, count)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    parts = []
    for t in ticks:
        y = base - height * t / ticks[-1] if ticks[-1] else base
        parts.append(f"<line x1='{x0}' y1='{y:.1f}' x2='{x1}' y2='{y:.1f}' stroke='{GRID}'/>")
        parts.append(_text(x0 - 4, y + FONT * 0.35, fmt(t, step), anchor="end"))
    return parts


def category_labels(labels: Sequence[str], slot: float) -> tuple[list[int], int]:
    """(indexes of the labels to draw, rotation in degrees) so drawn labels never overlap.

    Side by side when every (truncated) label fits its slot; otherwise rotated by ANGLE, where
    neighbours need a line height / sin(ANGLE) apart, so every k-th label is drawn.
    """
    shown = [truncate(s) for s in labels]
    if all(text_width(s) + FONT * 0.5 <= slot for s in shown):
        return list(range(len(labels))), 0
    need = FONT * LINE / math.sin(math.radians(ANGLE))
    every = max(1, math.ceil(need / slot))
    return list(range(0, len(labels), every)), ANGLE


def bar_chart(
    ref: Sequence[float],
    cur: Sequence[float],
    *,
    categories: Sequence[str] | None = None,
    edges: Sequence[float] | None = None,
    alert: bool = False,
    note: str = "",
) -> str:
    """Reference and current shares side by side per bin; categories or numeric bin edges."""
    n = len(ref)
    plot_h, left = 150, float(_LEFT)
    base = _TOP + plot_h

    def layout(left: float) -> tuple[float, float, list[int], int, float]:
        plot_w = WIDTH - left - _RIGHT
        slot = plot_w / max(1, n)
        if categories is None:
            return plot_w, slot, [], 0, 0.0
        drawn, angle = category_labels([str(c) for c in categories], slot)
        longest = max((text_width(truncate(str(categories[i]))) for i in drawn), default=0)
        return plot_w, slot, drawn, angle, longest

    for _ in range(4):  # slanted labels reach left of their bar: widen the margin, lay out again
        plot_w, slot, drawn, angle, longest = layout(left)
        reach = longest * math.cos(math.radians(angle)) - slot / 2 + 6 if angle else 0.0
        if reach <= left:
            break
        left = reach
    plot_w, slot, drawn, angle, longest = layout(left)
    label_h = X_LABEL_DY + (longest * math.sin(math.radians(angle)) if angle else 0.0)
    height = base + 8 + label_h + (FONT * LINE * 1.5 if note else 0) + 4
    top = max(max(ref, default=0.0), max(cur, default=0.0), 1e-12)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height:.0f}' "
        f"font-family='system-ui,sans-serif' role='img'>"
    ]
    parts += _y_axis(top, plot_h, base, left, WIDTH - _RIGHT, format_share)
    bar = max(slot * 0.4, 0.5)
    names = [str(c) for c in categories] if categories is not None else _bin_names(edges, n)
    for i, (r, c) in enumerate(zip(ref, cur, strict=False)):
        x = left + i * slot + slot * 0.1
        for offset, share, color, who in (
            (0.0, r, REF_COLOR, "reference"),
            (bar, c, ALERT_COLOR if alert else CUR_COLOR, "current"),
        ):
            h = plot_h * share / top
            parts.append(
                f"<rect x='{x + offset:.1f}' y='{base - h:.1f}' width='{bar:.1f}' "
                f"height='{h:.1f}' fill='{color}'><title>{escape(names[i])} {who}: "
                f"{share:.1%}</title></rect>"
            )
    parts.append(f"<line x1='{left}' y1='{base}' x2='{WIDTH - _RIGHT}' y2='{base}' stroke='#333'/>")
    y = base + X_LABEL_DY
    if categories is not None:
        for i in drawn:
            full, shown = str(categories[i]), truncate(str(categories[i]))
            x = left + (i + 0.5) * slot
            tip = f"<title>{escape(full)}</title>"
            if angle:
                parts.append(
                    f"<text class='{X_LABEL}' x='{x:.1f}' y='{y:.1f}' font-size='{FONT}' "
                    "text-anchor='end' "
                    f"transform='rotate(-{angle} {x:.1f} {y:.1f})'>{tip}{escape(shown)}</text>"
                )
            else:
                parts.append(
                    f"<text class='{X_LABEL}' x='{x:.1f}' y='{y:.1f}' font-size='{FONT}' "
                    "text-anchor='middle'>"
                    f"{tip}{escape(shown)}</text>"
                )
    elif edges:
        lo, hi = float(edges[0]), float(edges[-1])

        def x_of(v: float) -> float:
            return left + plot_w * (v - lo) / (hi - lo) if hi > lo else left + plot_w / 2

        for x, centre, label in _value_axis(lo, hi, x_of, format_value):
            parts.append(
                f"<line x1='{x:.1f}' y1='{base}' x2='{x:.1f}' y2='{base + 4}' stroke='#333'/>"
            )
            parts.append(_text(centre, y, label, extra=f" class='{X_LABEL}'"))
    if note:
        parts.append(_text(left, height - 6, note, anchor="start"))
    parts.append("</svg>")
    return "".join(parts)


def _bin_names(edges: Sequence[float] | None, n: int) -> list[str]:
    edges = list(edges or [])
    if len(edges) != n + 1:
        return [""] * n
    step = (edges[-1] - edges[0]) / n if n else 1.0
    return [
        f"{format_value(a, step / 10)} to {format_value(b, step / 10)}"
        for a, b in zip(edges, edges[1:], strict=False)
    ]


_TIME_STEPS = [timedelta(minutes=m) for m in (5, 10, 15, 30)] + [
    timedelta(hours=h) for h in (1, 2, 3, 6, 12, 24, 48, 96, 168, 336, 720)
]


def time_axis(start: datetime, end: datetime, x_of) -> list[tuple[float, float, str]]:
    """(tick x, label centre, label) at round UTC times (whole steps since the epoch), the
    shortest step whose labels fit side by side."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for step in _TIME_STEPS:
        fmt = "%m-%d %H:%M" if step < timedelta(days=1) else "%Y-%m-%d"
        ticks = []
        t = epoch + step * math.ceil((start - epoch) / step)
        while t <= end:
            ticks.append(t)
            t += step
        if not ticks or len(ticks) > 40:
            continue
        labels = [t.strftime(fmt) for t in ticks]
        xs = [x_of(t) for t in ticks]
        centres = level_positions(xs, labels)
        if centres is not None:
            return list(zip(xs, centres, labels, strict=True))
    return [(x_of(start), x_of(start), start.strftime("%Y-%m-%d %H:%M"))]


def line_chart(
    times: Sequence[datetime],
    values: Sequence[float | None],
    *,
    tips: Sequence[str],
    fixed_range: tuple[float, float] | None = None,
    fmt=format_value,
    threshold: float | None = None,
) -> str:
    """One series over time; None is a gap in the line and a grey mark on the axis."""
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, 160
    base = _TOP + plot_h
    height = base + X_LABEL_DY + FONT
    known = [v for v in values if v is not None]
    if fixed_range:
        lo, hi = fixed_range
    else:
        lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
    ticks = nice_ticks(lo, hi, 5)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    start, end = (min(times), max(times)) if times else (datetime.now(UTC),) * 2
    if end <= start:
        start, end = start - timedelta(minutes=30), end + timedelta(minutes=30)
    total = (end - start).total_seconds()

    def x_of(t: datetime) -> float:
        return _LEFT + plot_w * (t - start).total_seconds() / total

    def y_of(v: float) -> float:
        return base - plot_h * (v - lo) / ((hi - lo) or 1.0)

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height:.0f}' "
        f"font-family='system-ui,sans-serif' role='img'>"
    ]
    for t in ticks:
        y = y_of(t)
        parts.append(
            f"<line x1='{_LEFT}' y1='{y:.1f}' x2='{WIDTH - _RIGHT}' y2='{y:.1f}' stroke='{GRID}'/>"
        )
        parts.append(_text(_LEFT - 4, y + FONT * 0.35, fmt(t, step), anchor="end"))
    if threshold is not None and lo <= threshold <= hi:
        y = y_of(threshold)
        parts.append(
            f"<line x1='{_LEFT}' y1='{y:.1f}' x2='{WIDTH - _RIGHT}' y2='{y:.1f}' "
            f"stroke='{ALERT_COLOR}' stroke-dasharray='4 3'/>"
        )
    parts.append(
        f"<line x1='{_LEFT}' y1='{base}' x2='{WIDTH - _RIGHT}' y2='{base}' stroke='#333'/>"
    )
    for x, centre, label in time_axis(start, end, x_of):
        parts.append(f"<line x1='{x:.1f}' y1='{base}' x2='{x:.1f}' y2='{base + 4}' stroke='#333'/>")
        parts.append(_text(centre, base + X_LABEL_DY, label, extra=f" class='{X_LABEL}'"))
    runs: list[list[tuple[float, float]]] = [[]]
    for t, v in zip(times, values, strict=False):
        if v is None:
            runs.append([])
        else:
            runs[-1].append((x_of(t), y_of(v)))
    for run in runs:
        if len(run) > 1:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            parts.append(
                f"<polyline points='{points}' fill='none' stroke='{CUR_COLOR}' stroke-width='1.5'/>"
            )
    for t, v, tip in zip(times, values, tips, strict=False):
        x = x_of(t)
        if v is None:
            parts.append(
                f"<rect x='{x - 2:.1f}' y='{base - 8}' width='4' height='8' fill='{REF_COLOR}'>"
                f"<title>{escape(tip)}</title></rect>"
            )
        else:
            parts.append(
                f"<circle cx='{x:.1f}' cy='{y_of(v):.1f}' r='3' fill='{CUR_COLOR}'>"
                f"<title>{escape(tip)}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)
