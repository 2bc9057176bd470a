"""Ground truth: parsing SageMaker's label records, duplicates, the merge with captured
predictions by inferenceId or eventId, labels that match nothing, and late labels."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from pipelines.steps.capture import parse_captured_events
from pipelines.steps.ground_truth import (
    decode_labels,
    latest_labels,
    merge_labels,
    parse_label_lines,
)
from pipelines.steps.model_quality import model_quality_section
from pipelines.steps.predictions import prediction_rows

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def _capture(event_id, when, output, inference_id=None, content_type="text/csv"):
    meta = {"eventId": event_id, "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    if inference_id:
        meta["inferenceId"] = inference_id
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": "1,2",
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": content_type,
                    "mode": "OUTPUT",
                    "data": output,
                    "encoding": "JSON" if content_type == "application/json" else "CSV",
                },
            },
            "eventMetadata": meta,
            "eventVersion": "0",
        }
    )


def _label(event_id, data, version="0", encoding="CSV"):
    return json.dumps(
        {
            "groundTruthData": {"data": data, "encoding": encoding},
            "eventMetadata": {"eventId": event_id},
            "eventVersion": version,
        }
    )


def _predictions(lines, start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=3)):
    events = parse_captured_events(lines, start=start, end=end)
    assert events.n_skipped == 0, events.errors
    return prediction_rows(events.events, "classification").frame


def _labels(lines, uploaded=T0 + timedelta(minutes=30), key="ground-truth/e/2026/01/01/10/a"):
    parsed = parse_label_lines(lines, source=key, uploaded=uploaded)
    assert parsed.n_skipped == 0, parsed.errors
    return parsed.records


def test_captured_events_carry_both_ids_and_the_key_prefers_the_inference_id():
    lines = [
        _capture("ev-1", T0, "1,0.9", inference_id="order-17"),
        _capture("ev-2", T0, "0,0.2"),
    ]
    events = parse_captured_events(lines, start=T0, end=T0 + timedelta(hours=1)).events
    assert [(e.event_id, e.inference_id, e.key) for e in events] == [
        ("ev-1", "order-17", "order-17"),
        ("ev-2", None, "ev-2"),
    ]


def test_merge_by_inference_id_and_by_event_id():
    frame = _predictions(
        [
            _capture("ev-1", T0, "1,0.9", inference_id="order-17"),
            _capture("ev-2", T0, "0,0.2"),
            _capture("ev-3", T0, "0,0.4", inference_id="order-18"),
        ]
    )
    merged = merge_labels(
        frame,
        _labels(
            [
                _label("order-17", "1"),  # the caller's inferenceId
                _label("ev-2", "0"),  # no inferenceId captured: the eventId
                _label("ev-3", "1"),  # ev-3 had an inferenceId: SageMaker merges by that only
            ]
        ),
    )
    assert merged.frame.set_index("event_id")["actual"].to_dict() == {
        "ev-1": "1",
        "ev-2": "0",
        "ev-3": None,
    }
    assert merged.n_unmatched == 1 and merged.unmatched_samples == ["ev-3"]


def test_labels_with_no_matching_prediction_are_counted_not_errors():
    frame = _predictions([_capture("ev-1", T0, "1,0.9")])
    merged = merge_labels(frame, _labels([_label("nobody", "1"), _label("ev-1", "1")]))
    assert merged.to_dict()["n_unmatched_records"] == 1
    assert merged.to_dict()["n_labelled_rows"] == 1
    # and with no predictions at all
    empty = merge_labels(_predictions([]), _labels([_label("nobody", "1")]))
    assert empty.n_unmatched == 1 and empty.to_dict()["n_labelled_rows"] == 0


def test_duplicates_the_highest_event_version_then_the_last_upload_wins():
    first = _labels([_label("a", "0"), _label("b", "0", version="1")], uploaded=T0)
    later = _labels(
        [_label("a", "1"), _label("b", "1")], uploaded=T0 + timedelta(hours=1), key="k2"
    )
    chosen, replaced = latest_labels([*later, *first])  # order of reading does not matter
    assert chosen["a"].values == ("1",)  # same version: the later upload
    assert chosen["b"].values == ("0",)  # version 1 beats a later version 0
    assert replaced == 2
    frame = _predictions([_capture("a", T0, "0,0.1"), _capture("b", T0, "0,0.1")])
    merged = merge_labels(frame, [*first, *later])
    assert merged.n_duplicates == 2 and merged.n_labels == 2


def test_a_request_of_several_rows_takes_one_label_per_row_in_order():
    frame = _predictions(
        [
            _capture("multi", T0, "1,0.9\n0,0.1\n1,0.7"),
            _capture("short", T0, "1,0.9\n0,0.1"),
        ]
    )
    merged = merge_labels(frame, _labels([_label("multi", "1\n1\n0"), _label("short", "1")]))
    rows = merged.frame[merged.frame["key"] == "multi"].sort_values("row")
    assert rows["actual"].tolist() == ["1", "1", "0"]
    assert merged.n_wrong_count == 1  # one label for a request of two rows: counted, not guessed


@pytest.mark.parametrize(
    ("data", "encoding", "expected"),
    [
        ("1", "CSV", ("1",)),
        ("1\n0\n", "CSV", ("1", "0")),
        ("[1, 0.0]", "JSON", ("1", "0")),
        ('"yes"', "JSON", ("yes",)),
        (base64.b64encode(b"0\n1").decode(), "BASE64", ("0", "1")),
    ],
)
def test_label_encodings(data, encoding, expected):
    assert decode_labels({"data": data, "encoding": encoding}) == expected


def test_unreadable_label_lines_are_counted_with_their_place():
    parsed = parse_label_lines(
        ["not json", _label("a", "1"), json.dumps({"groundTruthData": {"data": "1"}}), ""],
        source="ground-truth/e/2026/01/01/10/x.jsonl",
        uploaded=T0,
    )
    assert len(parsed.records) == 1 and parsed.n_skipped == 2
    assert parsed.errors[0].startswith("ground-truth/e/2026/01/01/10/x.jsonl line 1")


def test_a_late_label_counts_in_the_window_of_its_prediction():
    end = T0 + timedelta(hours=3)  # the run of 13:00, with hourly windows
    frame = _predictions(
        [
            _capture("early", T0 + timedelta(minutes=5), "1,0.9"),  # window 10:00-11:00
            _capture("recent", T0 + timedelta(hours=2, minutes=5), "0,0.1"),  # 12:00-13:00
        ],
        end=end,
    )
    records = [
        *_labels([_label("early", "1")], uploaded=T0 + timedelta(hours=2, minutes=30)),  # late
        *_labels([_label("recent", "0")], uploaded=T0 + timedelta(hours=2, minutes=30), key="r"),
    ]
    section = model_quality_section(
        merge_labels(frame, records),
        problem_type="classification",
        metric="accuracy",
        classes=["0", "1"],
        positive="1",
        min_labelled_rows=1,
        window_minutes=60,
        start=end - timedelta(hours=24),
        end=end,
    )
    windows = {w["window_start"]: w for w in section["windows"]}
    assert windows["2026-01-01T10:00:00Z"]["n_labelled_rows"] == 1
    assert windows["2026-01-01T10:00:00Z"]["n_late_labels"] == 1
    assert windows["2026-01-01T12:00:00Z"]["n_late_labels"] == 0
    assert windows["2026-01-01T10:00:00Z"]["value"] == 1.0  # its own accuracy, 1 label of 1
    assert section["value"] == 1.0 and section["n_labelled_rows"] == 2


def test_json_answers_keep_their_probabilities():
    answer = json.dumps(
        {"predictions": [{"label": "b", "score": 0.6, "probabilities": {"a": 0.4, "b": 0.6}}]}
    )
    frame = _predictions([_capture("j", T0, answer, content_type="application/json")])
    assert frame.loc[0, "probabilities"] == {"a": 0.4, "b": 0.6}
    assert frame.loc[0, "predicted_label"] == "b"
    assert isinstance(frame, pd.DataFrame)
