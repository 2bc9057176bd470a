import base64
import json
import tarfile
from datetime import UTC, datetime

import pytest

from pipelines.bundle import build_code_bundle, code_version
from pipelines.datasets import generate_churn
from pipelines.drift import build_profile
from pipelines.entrypoints.common import pack_json, pack_schema, unpack_json, unpack_schema
from pipelines.steps.capture import hour_prefixes, parse_capture_lines
from pipelines.steps.monitor import drift_report, metric_data, window_bounds
from pipelines.steps.report_html import render_html

FEATURES = [
    "tenure_months",
    "monthly_charges",
    "support_calls",
    "age",
    "data_usage_gb",
    "contract",
    "payment_method",
    "region",
]


def _event(data: str, when: str, encoding: str = "CSV", content_type: str = "text/csv") -> str:
    if encoding == "BASE64":
        data = base64.b64encode(data.encode()).decode()
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": content_type,
                    "mode": "INPUT",
                    "data": data,
                    "encoding": encoding,
                },
                "endpointOutput": {
                    "observedContentType": "text/csv",
                    "mode": "OUTPUT",
                    "data": "1,0.8",
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {"eventId": "e", "inferenceTime": when},
            "eventVersion": "0",
        }
    )


def test_capture_lines_all_encodings_and_window(churn_schema):
    kinds = churn_schema.feature_kinds
    row = "12,70.5,1,40,30.2,one-year,card,north"
    lines = [
        _event(row + "\n" + row, "2026-01-01T10:05:00Z"),
        _event(row, "2026-01-01T10:06:00Z", encoding="BASE64"),
        _event(",".join(FEATURES) + "\n" + row, "2026-01-01T10:07:00Z"),
        _event(
            json.dumps({"instances": [dict(zip(FEATURES, row.split(","), strict=True))]}),
            "2026-01-01T10:08:00Z",
            encoding="JSON",
            content_type="application/json",
        ),
        _event(row, "2026-01-01T09:00:00Z"),  # before the window
        "not json",
        _event("1,2", "2026-01-01T10:09:00Z"),  # wrong width
    ]
    start, end = window_bounds("2026-01-01T11:00:00Z", 60)
    rows = parse_capture_lines(lines, FEATURES, kinds, start=start, end=end)
    assert len(rows.frame) == 5
    assert rows.frame["tenure_months"].tolist() == [12.0] * 5
    assert set(rows.frame["contract"]) == {"one-year"}
    assert rows.n_skipped == 2 and rows.errors


def test_window_and_hour_prefixes():
    start, end = window_bounds(None, 60, now=datetime(2026, 1, 1, 10, 30, 42, tzinfo=UTC))
    assert (start.isoformat(), end.isoformat()) == (
        "2026-01-01T09:30:42+00:00",
        "2026-01-01T10:30:42+00:00",
    )
    assert hour_prefixes(start, end) == ["2026/01/01/09/", "2026/01/01/10/", "2026/01/01/11/"]
    with pytest.raises(ValueError):
        window_bounds(None, 0)


def test_drift_report_metrics_and_html(churn_schema):
    kinds = churn_schema.feature_kinds
    profile = build_profile([generate_churn(3000, seed=1)[FEATURES]], kinds)
    start, end = window_bounds("2026-01-01T11:00:00Z", 60)
    base = {"endpoint_name": "ep", "model_version": "3", "window_end": "2026-01-01T11:00:00Z"}
    drifted, result = drift_report(
        base,
        profile,
        [generate_churn(1500, seed=2, drift=True)],
        thresholds={"region": 0.3},
        default_threshold=0.1,
    )
    assert drifted["status"] == "drift"
    assert {"tenure_months", "contract"} <= set(drifted["drift"]["drifted_features"])
    assert "region" not in drifted["drift"]["drifted_features"]
    data = metric_data(result, "ep", "3", end)
    names = {d["MetricName"] for d in data}
    assert "drift_score" in names and "feature_baseline_drift_tenure_months" in names
    assert len(data) == 2 * len(names)  # by endpoint, and by endpoint + model version
    assert {len(d["Dimensions"]) for d in data} == {1, 2}
    html = render_html(drifted)
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == len(FEATURES)
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")  # no external assets

    calm, calm_result = drift_report(
        base, profile, [generate_churn(1500, seed=9)], thresholds={}, default_threshold=0.1
    )
    assert calm["status"] == "ok" and calm["drift"]["drifted_features"] == []
    empty, empty_result = drift_report(base, profile, [], thresholds={}, default_threshold=0.1)
    assert empty["status"] == "no_data" and metric_data(empty_result, "ep", "3", end) == []


def test_dataset_generator_is_reproducible_and_valid(churn_schema):
    a, b = generate_churn(500, seed=11), generate_churn(500, seed=11)
    assert a.equals(b) and not a.equals(generate_churn(500, seed=12))
    assert list(a.columns) == list(churn_schema.columns)
    drifted = generate_churn(500, seed=11, drift=True)
    assert drifted["monthly_charges"].mean() > a["monthly_charges"].mean() + 20


def test_packing_roundtrip_and_argument_limits(churn_schema):
    parts = pack_schema(churn_schema)
    assert all(len(p) <= 256 for p in parts) and unpack_schema(parts) == churn_schema
    assert unpack_json(pack_json({"b": 1, "a": [1.5]})) == {"a": [1.5], "b": 1}


def test_code_bundle_is_deterministic(tmp_path):
    a = build_code_bundle(tmp_path / "a")
    b = build_code_bundle(tmp_path / "b")
    assert a.read_bytes() == b.read_bytes() and code_version(a) == code_version(b)
    with tarfile.open(a) as tar:
        names = tar.getnames()
        assert {m.mtime for m in tar.getmembers()} == {946684800}
    assert "pipelines/entrypoints/validate.py" in names and "requirements.txt" in names
    assert names == sorted(names) and not any("__pycache__" in n for n in names)


def test_metrics_of_features_named_as_users_name_them_are_what_their_alarms_watch():
    from infra.names import PhysicalNames
    from pipelines.metric_names import feature_drift_metric

    renamed = {"tenure_months": "mean radius", "monthly_charges": "revenue/visit"}
    kinds = {"mean radius": "numeric", "revenue/visit": "numeric"}
    reference = generate_churn(2000, seed=1)[list(renamed)].rename(columns=renamed)
    current = generate_churn(1000, seed=2, drift=True)[list(renamed)].rename(columns=renamed)
    profile = build_profile([reference], kinds)
    base = {"endpoint_name": "ep", "model_version": "1", "window_end": "2026-01-01T11:00:00Z"}
    report, result = drift_report(base, profile, [current], thresholds={}, default_threshold=0.1)
    _, end = window_bounds("2026-01-01T11:00:00Z", 60)
    names = {d["MetricName"] for d in metric_data(result, "ep", "1", end)}
    assert names == {"drift_score", *(feature_drift_metric(f) for f in kinds)}
    assert all(n.isascii() and " " not in n and "/" not in n for n in names)
    # The report maps each metric back to its feature, as the stack's alarm does.
    assert report["feature_metrics"] == {f: feature_drift_metric(f) for f in kinds}
    alarms = PhysicalNames("p-dev").drift_alarm_features(kinds)
    assert sorted(f for f in alarms.values() if f) == sorted(kinds)


def test_captured_rows_that_do_not_fit_their_features_are_skipped_not_fatal(churn_schema):
    # Captured by a model that still took text in a numeric column: the window is read anyway.
    row = "12,70.5,1,40,30.2,one-year,card,north"
    lines = [
        _event(row + "\n" + row.replace(",40,", ",forty,"), "2026-01-01T10:05:00Z"),
        _event(
            json.dumps([dict(zip(FEATURES, row.replace(",40,", ",old,").split(","), strict=True))]),
            "2026-01-01T10:06:00Z",
            encoding="JSON",
            content_type="application/json",
        ),
        _event(row, "2026-01-01T10:07:00Z"),
    ]
    rows = parse_capture_lines(lines, FEATURES, churn_schema.feature_kinds)
    assert rows.frame["age"].tolist() == [40.0, 40.0]
    assert rows.n_skipped == 2
    assert any("feature age: 'forty' is not a number" in e for e in rows.errors)
    assert any("feature age: 'old' is not a number" in e for e in rows.errors)


def test_a_one_request_window_publishes_nothing(churn_schema):
    kinds = churn_schema.feature_kinds
    profile = build_profile([generate_churn(3000, seed=1)[FEATURES]], kinds)
    end = window_bounds("2026-01-01T11:00:00Z", 60)[1]
    base = {"endpoint_name": "ep", "model_version": "3", "window_end": "2026-01-01T11:00:00Z"}
    one = generate_churn(1, seed=5, drift=True)[FEATURES]
    report, result = drift_report(
        base, profile, [one], thresholds={}, default_threshold=0.1, min_window_rows=30
    )
    assert report["status"] == "insufficient_data" and "fewer than the 30" in report["message"]
    assert report["drift"]["drift_score"] == 0.0 and report["drift"]["drifted_features"] == []
    assert metric_data(result, "ep", "3", end) == []  # the alarms see missing data, not drift
    assert render_html(report).startswith("<!DOCTYPE html>")


def test_feature_metrics_breach_their_threshold_exactly_when_drifted(churn_schema):
    from pipelines.metric_names import feature_drift_metric

    kinds = churn_schema.feature_kinds
    profile = build_profile([generate_churn(3000, seed=1)[FEATURES]], kinds)
    end = window_bounds("2026-01-01T11:00:00Z", 60)[1]
    base = {"endpoint_name": "ep", "model_version": "3", "window_end": "2026-01-01T11:00:00Z"}
    for window in (generate_churn(80, seed=3), generate_churn(1500, seed=4, drift=True)):
        _, result = drift_report(base, profile, [window], thresholds={}, default_threshold=0.1)
        values = {
            d["MetricName"]: d["Value"]
            for d in metric_data(result, "ep", "3", end)
            if len(d["Dimensions"]) == 1
        }
        for name, f in result.features.items():
            assert (values[feature_drift_metric(name)] >= f.threshold) == f.drifted, name
        assert values["drift_score"] == result.drift_score
