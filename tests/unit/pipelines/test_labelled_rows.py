"""Labelled captured traffic into training rows: the join of captured requests with their
ground-truth labels by inferenceId or eventId, late and corrected labels, labels that name no
request, requests of several rows, and rows that come out typed by the schema once Validate has
read them like an upload."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.limits import ReadLimits
from pipelines.steps.ground_truth import parse_label_lines
from pipelines.steps.labelled import captured_rows, labelled_rows
from pipelines.steps.tabular import read_typed
from pipelines.steps.validate import validate_objects
from pipelines.steps.verdicts import ObjectRef

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SINCE, UNTIL = T0 - timedelta(days=14), T0 + timedelta(days=1)
ROW = "12,70.5,1,41,30.2,one-year,card,west"


def _capture(event_id, body, *, inference_id=None, when=T0, content_type="text/csv"):
    meta = {"eventId": event_id, "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    if inference_id:
        meta["inferenceId"] = inference_id
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": content_type,
                    "mode": "INPUT",
                    "data": body,
                    "encoding": "JSON" if content_type == "application/json" else "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "text/csv",
                    "mode": "OUTPUT",
                    "data": "1,0.8",
                    "encoding": "CSV",
                },
            },
            "eventMetadata": meta,
            "eventVersion": "0",
        }
    )


def _label(event_id, data, version="0"):
    return json.dumps(
        {
            "groundTruthData": {"data": data, "encoding": "CSV"},
            "eventMetadata": {"eventId": event_id},
            "eventVersion": version,
        }
    )


def _records(lines, uploaded=T0 + timedelta(minutes=5), key="ground-truth/ep/a.jsonl"):
    parsed = parse_label_lines(lines, source=key, uploaded=uploaded)
    assert parsed.n_skipped == 0, parsed.errors
    return parsed.records


def _join(churn_schema, sources, labels):
    captured = captured_rows(sources, list(churn_schema.feature_kinds), since=SINCE, until=UNTIL)
    assert captured.n_skipped == 0, captured.errors
    return labelled_rows(captured, labels, churn_schema)


def test_labels_join_by_inference_id_else_by_the_captured_event_id(churn_schema):
    lines = [
        _capture("ev-1", ROW, inference_id="order-1"),
        _capture("ev-2", ROW.replace("west", "east")),
        _capture("ev-3", ROW.replace("card", "bank"), inference_id="order-3"),
    ]
    # order-3's request is named by its inferenceId only: its eventId matches nothing.
    labels = _records([_label("order-1", "1"), _label("ev-2", "0"), _label("ev-3", "1")])
    joined = _join(churn_schema, [(0, lines)], labels)
    [rows] = joined.by_source.values()
    assert rows[["region", "churned"]].values.tolist() == [["west", "1"], ["east", "0"]]
    assert list(rows.columns) == [*churn_schema.feature_kinds, "churned"]
    assert joined.stats["n_unmatched_records"] == 1
    assert joined.stats["unmatched_samples"] == ["ev-3"]
    # the unlabelled request (order-3) gives no row
    assert joined.stats["n_captured_rows"] == 3 and joined.stats["n_labelled_rows"] == 2


def test_a_label_uploaded_days_later_still_joins_its_request(churn_schema):
    lines = [_capture("ev-1", ROW, inference_id="late-1")]
    labels = _records([_label("late-1", "1")], uploaded=T0 + timedelta(days=3, hours=5))
    joined = _join(churn_schema, [(0, lines)], labels)
    assert joined.n_rows == 1


def test_requests_outside_the_look_back_give_no_rows_even_when_labelled(churn_schema):
    lines = [
        _capture("old", ROW, inference_id="old", when=SINCE - timedelta(minutes=1)),
        _capture("new", ROW, inference_id="new", when=UNTIL),  # the end is excluded
        _capture("in", ROW, inference_id="in", when=SINCE),
    ]
    labels = _records([_label("old", "1"), _label("new", "1"), _label("in", "0")])
    joined = _join(churn_schema, [(0, lines)], labels)
    assert joined.n_rows == 1 and joined.stats["n_captured_events"] == 1
    assert joined.stats["n_unmatched_records"] == 2


def test_the_highest_event_version_wins_then_the_last_upload(churn_schema):
    lines = [_capture("a", ROW, inference_id="a"), _capture("b", ROW, inference_id="b")]
    earlier = _records([_label("a", "1", version="2"), _label("b", "1")], uploaded=T0)
    later = _records(
        [_label("a", "0", version="1"), _label("b", "0")],
        uploaded=T0 + timedelta(hours=2),
        key="ground-truth/ep/b.jsonl",
    )
    joined = _join(churn_schema, [(0, lines)], earlier + later)
    [rows] = joined.by_source.values()
    # a: version 2 beats the later upload of version 1; b: same version, the later upload wins
    assert rows["churned"].tolist() == ["1", "0"]
    assert joined.stats["n_duplicate_records"] == 2


def test_a_request_of_several_rows_takes_one_label_per_row_in_order(churn_schema):
    body = "\n".join([ROW, ROW.replace("12,", "3,"), ROW.replace("12,", "99,")])
    lines = [_capture("multi", body, inference_id="m"), _capture("short", body, inference_id="s")]
    labels = _records([_label("m", "1\n0\n1"), _label("s", "1\n0")])  # s: one label short
    joined = _join(churn_schema, [(0, lines)], labels)
    [rows] = joined.by_source.values()
    assert rows[["tenure_months", "churned"]].values.tolist() == [
        ["12", "1"],
        ["3", "0"],
        ["99", "1"],
    ]
    assert joined.stats["n_wrong_count_records"] == 1


def test_rows_keep_the_capture_object_they_came_from(churn_schema):
    first = [_capture("x", ROW, inference_id="x")]
    second = [_capture("y", ROW, inference_id="y"), _capture("z", ROW, inference_id="z")]
    labels = _records([_label("x", "0"), _label("z", "1")])
    joined = _join(churn_schema, [(0, first), (1, second)], labels)
    assert {s: len(f) for s, f in joined.by_source.items()} == {0: 1, 1: 1}


def test_unreadable_capture_lines_are_counted_not_fatal(churn_schema):
    lines = ["{not json", _capture("ok", ROW, inference_id="ok"), _capture("w", "1,2,3")]
    captured = captured_rows(
        [(0, lines)], list(churn_schema.feature_kinds), since=SINCE, until=UNTIL
    )
    assert captured.n_skipped == 2 and len(captured.errors) == 2
    joined = labelled_rows(captured, _records([_label("ok", "1")]), churn_schema)
    assert joined.n_rows == 1


def _validated(tmp_path, churn_schema, joined):
    objects = []
    for source, frame in joined.by_source.items():
        path = tmp_path / f"{source}-labelled.csv"
        frame.to_csv(path, index=False)
        objects.append((ObjectRef(f"capture/ep/AllTraffic/{source}.jsonl", str(source)), path))
    work = tmp_path / "validated"
    return validate_objects(
        objects, churn_schema.model_copy(update={"min_rows": 1}), ReadLimits(), work
    )


def test_the_rows_are_typed_by_the_schema_from_csv_and_json_requests(tmp_path, churn_schema):
    record = {
        "tenure_months": 7,
        "monthly_charges": 80.25,
        "support_calls": 0,
        "age": "33",
        "data_usage_gb": 12,
        "contract": "two-year",
        "payment_method": "wallet",
        "region": "north",
    }
    lines = [
        _capture("j", json.dumps({"instances": [record]}), inference_id="j",
                 content_type="application/json"),
        _capture("c", ROW, inference_id="c"),
    ]  # fmt: skip
    joined = _join(churn_schema, [(0, lines)], _records([_label("j", "1"), _label("c", "0")]))
    report = _validated(tmp_path, churn_schema, joined)
    assert report.passed, report.violations
    typed = read_typed(report.accepted[0].output, churn_schema)
    assert typed["tenure_months"].tolist() == [7.0, 12.0]
    assert typed["age"].tolist() == [33.0, 41.0]
    assert typed["monthly_charges"].dtype == float and typed["support_calls"].dtype == float
    assert typed["contract"].tolist() == ["two-year", "one-year"]
    assert typed["churned"].tolist() == ["1", "0"]


@pytest.mark.parametrize(
    ("row", "label", "reason"),
    [
        (ROW.replace("41", "250"), "1", "values_above_maximum"),
        (ROW.replace("west", "mars"), "1", "values_outside_categories"),
        (ROW, "yes", "values_outside_classes"),
    ],
)
def test_a_bad_captured_row_rejects_its_capture_objects_rows(
    tmp_path, churn_schema, row, label, reason
):
    good = [_capture("g", ROW, inference_id="g")]
    bad = [_capture("b", row, inference_id="b"), _capture("b2", ROW, inference_id="b2")]
    labels = _records([_label("g", "1"), _label("b", label), _label("b2", "0")])
    report = _validated(tmp_path, churn_schema, _join(churn_schema, [(0, good), (1, bad)], labels))
    verdicts = {v.object.key: v for v in report.objects}
    assert verdicts["capture/ep/AllTraffic/0.jsonl"].accepted
    rejected = verdicts["capture/ep/AllTraffic/1.jsonl"]
    assert not rejected.accepted and rejected.reason() == reason
