"""The drift report and the history page as a person reads them: features most severe first,
axis labels that never overlap, and a history page that needs no network."""

import json
import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from pipelines.datasets import generate_churn
from pipelines.drift import build_profile, check_drift
from pipelines.entrypoints.common import pack_schema
from pipelines.entrypoints.monitor import main as monitor_main
from pipelines.steps.report_charts import bar_chart, line_chart, nice_ticks
from pipelines.steps.report_history import render_history
from pipelines.steps.report_html import render_html
from pipelines.steps.report_order import alpha_of, by_severity, severity

SVG = "{http://www.w3.org/2000/svg}"
EM = 0.6  # the width of a character of the axis font, in em: this test's own estimate


def _feature(name, drifted, statistic=None, threshold=0.1, **extra):
    return {
        "name": name,
        "kind": "numeric",
        "method": "wasserstein",
        "statistic": statistic,
        "threshold": threshold,
        "drifted": drifted,
        **extra,
    }


FEATURES = {
    "calm": _feature("calm", False, 0.02),
    "near": _feature("near", False, 0.09),
    "far": _feature("far", True, 0.5),  # 5x its threshold
    "just": _feature("just", True, 0.11, threshold=0.1),  # 1.1x
    # distance 3x its threshold and adjusted p 1e-4 at alpha 0.01 (2x): drift needs both, so 2x
    "tested": _feature("tested", True, 0.3, test="cvm", p_value=1e-6, p_adjusted=1e-4),
    # far in distance but not significant: 0.5 ** (1 / 2) ... -log10(0.5) / 2 = 0.15x
    "tested_calm": _feature("tested_calm", False, 0.3, test="cvm", p_value=0.1, p_adjusted=0.5),
    "text": _feature("text", True, None, reason="type_changed"),  # drift without a figure
    "missing": _feature("missing", False, None, reason="missing_in_current"),
}


def test_features_are_ordered_drifted_first_then_by_how_far_past_the_decision():
    # the figures below are at alpha 0.01 (confidence 0.99), which the report states
    order = [f["name"] for f in by_severity(FEATURES, alpha=0.01)]
    assert order == [
        "text", "far", "tested", "just",  # drifted, most severe first
        "near", "calm", "tested_calm", "missing",  # then the rest (0.9, 0.2, 0.15); none last
    ]  # fmt: skip
    assert severity(FEATURES["far"], alpha=0.01) == pytest.approx(5.0)
    assert severity(FEATURES["tested"], alpha=0.01) == pytest.approx(2.0)
    assert severity(FEATURES["tested_calm"], alpha=0.01) == pytest.approx(-math.log10(0.5) / 2)
    assert severity(FEATURES["missing"], alpha=0.01) is None
    page = render_html({"endpoint_name": "ep", "drift": {"features": FEATURES, "confidence": 0.99}})
    sections = re.findall(r"<section id='f-(\w+)'>", page)
    assert sections == order
    # the table names each feature's test and its Holm-adjusted p-value, the decision's half
    tested_row = re.search(r"<tr class=flag><td><a href='#f-tested'>.*?</tr>", page).group(0)
    assert "<td>Cramér-von Mises</td><td>0.0001</td>" in tested_row


def test_the_severity_agrees_with_the_engine_decision_on_every_feature(churn_schema):
    """At least 1x the boundary exactly when the engine called the feature drifted, at the
    confidence the report was decided at."""
    features = [f.name for f in churn_schema.features]
    profile = build_profile([generate_churn(3000, seed=1)[features]], churn_schema.feature_kinds)
    shifted = generate_churn(400, seed=2)[features]
    shifted["tenure_months"] = shifted["tenure_months"] * 1.6 + 5
    shifted.loc[shifted.index[:150], "contract"] = "month-to-month"
    for confidence in (0.9, 0.99, 0.999):
        report = check_drift(profile, [shifted], confidence=confidence, min_rows=30).to_dict()
        alpha = alpha_of(report)
        assert alpha == pytest.approx(1 - confidence)
        decided = [f for f in report["features"].values() if f["p_value"] is not None]
        assert any(f["drifted"] for f in decided) and not all(f["drifted"] for f in decided)
        for f in decided:
            assert (severity(f, alpha=alpha) >= 1.0) == f["drifted"], f["name"]


def _labels(svg: str) -> tuple[ET.Element, list[ET.Element]]:
    """The chart and its x-axis labels."""
    root = ET.fromstring(svg)
    return root, [t for t in root.iter(f"{SVG}text") if t.get("class") == "x-label"]


def _shown(text: ET.Element) -> str:
    return "".join(text.itertext()).removeprefix(_title(text))


def _title(text: ET.Element) -> str:
    title = text.find(f"{SVG}title")
    return title.text if title is not None else ""


def _assert_no_overlap(svg: str) -> list[ET.Element]:
    root, texts = _labels(svg)
    width, height = float(root.get("width")), float(root.get("height"))
    assert texts, "no axis labels"
    spans = []
    for t in texts:
        x, y, size = float(t.get("x")), float(t.get("y")), float(t.get("font-size"))
        w = len(_shown(t)) * size * EM
        match = re.search(r"rotate\((-?[\d.]+)", t.get("transform") or "")
        angle = abs(float(match.group(1))) if match else 0.0
        if angle:  # parallel slanted lines: their distance across the slant holds a glyph
            assert t.get("text-anchor") == "end"
            # the label runs up and left from its anchor, and stays inside the chart
            assert x - w * math.cos(math.radians(angle)) >= 0
            assert y + w * math.sin(math.radians(angle)) <= height
            spans.append((x, x, angle, size))
        else:
            left = {"middle": x - w / 2, "end": x - w, "start": x}[t.get("text-anchor")]
            assert left >= 0 and left + w <= width
            spans.append((left, left + w, 0.0, size))
    spans.sort()
    for (a0, a1, angle, size), (b0, _, _, _) in zip(spans, spans[1:], strict=False):
        if angle:
            assert (b0 - a0) * math.sin(math.radians(angle)) >= size
        else:
            assert b0 >= a1, f"labels overlap: {a0}..{a1} and {b0}"
    return texts


@pytest.mark.parametrize("n", [3, 12, 40, 200])
def test_category_labels_never_overlap_and_long_names_keep_their_full_name(n):
    names = [f"a rather long category name number {i}" for i in range(n)]
    shares = [1 / n] * n
    texts = _assert_no_overlap(bar_chart(shares, shares, categories=names))
    for t in texts:
        assert len(_shown(t)) <= 22 and _title(t) in names
        assert _shown(t).rstrip("\u2026") == _title(t)[: len(_shown(t).rstrip("\u2026"))]


@pytest.mark.parametrize("n", [2, 5, 8])
def test_short_category_labels_stay_level_and_all_shown(n):
    names = [f"c{i}" for i in range(n)]
    texts = _assert_no_overlap(bar_chart([1 / n] * n, [1 / n] * n, categories=names))
    assert [_shown(t) for t in texts] == names and not any(t.get("transform") for t in texts)


@pytest.mark.parametrize(
    "lo, hi", [(0, 1), (0.0001, 0.0037), (-3.5, 120.25), (0, 1_234_567.0), (1e9, 5e9), (7, 7.001)]
)
def test_numeric_axis_has_round_ticks_that_never_overlap(lo, hi):
    edges = [lo + (hi - lo) * i / 50 for i in range(51)]
    texts = _assert_no_overlap(bar_chart([0.02] * 50, [0.02] * 50, edges=edges))
    assert len(texts) >= 2


def test_nice_ticks_are_round_and_cover_the_range():
    assert nice_ticks(0, 1, 6) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(3, 97, 5) == [0, 20, 40, 60, 80, 100]
    ticks = nice_ticks(-0.013, 0.042, 6)
    assert ticks[0] <= -0.013 and ticks[-1] >= 0.042 and len(ticks) <= 8


@pytest.mark.parametrize("hours, step", [(2, 5), (48, 60), (24 * 40, 60)])
def test_time_axis_labels_never_overlap(hours, step):
    start = datetime(2026, 3, 1, 0, 7, tzinfo=UTC)
    times = [start + timedelta(minutes=m) for m in range(0, hours * 60, step)]
    svg = line_chart(times, [0.5] * len(times), tips=[""] * len(times), fixed_range=(0, 1))
    assert len(_assert_no_overlap(svg)) >= 2


def _report(hour, status="ok", score=0.1, quality=None):
    end = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=hour)
    report = {
        "endpoint_name": "ep",
        "window_end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": status,
        "model_version": "1",
        "drift": {"drift_score": score, "n_current": 500, "drifted_features": []},
    }
    if quality is not None:
        report["model_quality"] = {
            "metric": "roc_auc",
            "value": quality,
            "status": "ok",
            "n_labelled_rows": 150,
        }
    return report


def test_history_page_is_self_contained_and_shows_undecided_windows_as_gaps():
    reports = [
        _report(0, quality=0.9),
        _report(1, status="insufficient_data", score=0.0),  # no decision: a gap, not 0
        _report(2, score=0.5),  # no ground truth in this window
        _report(3, quality=0.7),
        _report(3, quality=0.8),  # the same window run again: the later report wins
        {"status": "no_live_model"},  # no window end: left out
    ]
    page = render_history("ep", reports, windows=48)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)
    assert "<script" not in page and "<link" not in page and "src=" not in page
    drift_svg, quality_svg = re.findall(r"<svg.*?</svg>", page)
    assert drift_svg.count("<circle") == 3 and drift_svg.count("<rect") == 1
    assert quality_svg.count("<circle") == 2 and quality_svg.count("<rect") == 2
    assert "roc_auc 0.8" in page and "roc_auc 0.7" not in page
    assert page.count("/drift_report.html'") == 4  # one row per window
    assert render_history("ep", reports, windows=2).count("/drift_report.html'") == 2


def test_history_page_without_any_ground_truth_says_so():
    page = render_history("ep", [_report(0), _report(1)], windows=48)
    assert "no ground truth in these windows" in page and page.count("<svg") == 1


ENDPOINT, ARTIFACTS, DATA = "ep", "artifacts", "data"


def test_the_monitoring_step_writes_the_window_and_the_stable_history_page(
    tmp_path, moto_credentials, monkeypatch, churn_schema
):
    features = [f.name for f in churn_schema.features]
    profile = build_profile([generate_churn(2000, seed=1)[features]], churn_schema.feature_kinds)
    rows = generate_churn(200, seed=2)[features].astype(str).to_csv(index=False, header=False)
    capture = "\n".join(
        json.dumps(
            {
                "captureData": {
                    "endpointInput": {
                        "observedContentType": "text/csv",
                        "mode": "INPUT",
                        "data": line,
                        "encoding": "CSV",
                    }
                },
                "eventMetadata": {"eventId": str(i), "inferenceTime": "2026-01-01T04:30:00Z"},
                "eventVersion": "0",
            }
        )
        for i, line in enumerate(rows.splitlines())
    )
    with mock_aws():
        s3 = boto3.client("s3")
        for bucket in (ARTIFACTS, DATA):
            s3.create_bucket(Bucket=bucket)
        earlier = [_report(0, quality=0.9), _report(1, status="insufficient_data"), _report(2)]
        for r in earlier:
            key = r["window_end"].replace("-", "").replace(":", "")
            s3.put_object(
                Bucket=ARTIFACTS,
                Key=f"monitoring/{ENDPOINT}/{key}/drift_report.json",
                Body=json.dumps(r).encode(),
            )
        old = _report(-100)  # beyond the history's windows: never read
        s3.put_object(
            Bucket=ARTIFACTS,
            Key=f"monitoring/{ENDPOINT}/20251228T000000Z/drift_report.json",
            Body=json.dumps(old).encode(),
        )
        s3.put_object(Bucket=ARTIFACTS, Key="baseline.json", Body=profile.to_json().encode())
        s3.put_object(
            Bucket=ARTIFACTS,
            Key=f"live/{ENDPOINT}.json",
            Body=json.dumps(
                {"model_package_version": 1, "baseline_uri": f"s3://{ARTIFACTS}/baseline.json"}
            ),
        )
        s3.put_object(
            Bucket=DATA,
            Key=f"capture/{ENDPOINT}/AllTraffic/2026/01/01/04/a.jsonl",
            Body=capture.encode(),
        )
        monkeypatch.setattr("pipelines.entrypoints.monitor.publish", lambda data, ns: None)
        monitor_main(
            [
                "--schema",
                *pack_schema(churn_schema),
                "--endpoint-name",
                ENDPOINT,
                "--capture-uri",
                f"s3://{DATA}/capture/{ENDPOINT}/",
                "--live-record-uri",
                f"s3://{ARTIFACTS}/live/{ENDPOINT}.json",
                "--namespace",
                "ns",
                "--window-minutes",
                "60",
                "--window-end",
                "2026-01-01T05:00:00Z",
                "--output",
                str(tmp_path),
                "--message-file",
                str(tmp_path / "message"),
                "--history-uri",
                f"s3://{ARTIFACTS}/monitoring/{ENDPOINT}/",
                "--history-windows",
                "48",
            ]
        )
    stable = (tmp_path / "history.html").read_text()
    window = (tmp_path / "20260101T050000Z" / "history.html").read_text()
    assert json.loads((tmp_path / "20260101T050000Z" / "drift_report.json").read_text())["drift"]
    for page, prefix in ((stable, ""), (window, "../")):
        links = re.findall(r"href='([^']+)/drift_report.html'", page)
        assert links == [f"{prefix}20260101T0{h}0000Z" for h in (5, 2, 1, 0)]  # newest first
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)
    assert (
        "<a href='history.html'>" in (tmp_path / "20260101T050000Z/drift_report.html").read_text()
    )
