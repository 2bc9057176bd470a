"""Validate with a manifest's labelled traffic (moto): the capture and ground-truth versions it
names are read by VersionId, joined into rows that train beside the accepted objects, checked
like uploads (a bad capture object's rows are quarantined, the capture itself stays), and every
version read is named in data_objects.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_validate_reads_manifest import ARTIFACTS, DATA, _csv, _put, _validate, s3, schema

from pipelines.datasets import generate_churn

__all__ = ["s3", "schema"]  # the fixtures, shared with the manifest tests

NOW = datetime.now(UTC).replace(microsecond=0)
HOUR = NOW.strftime("%Y/%m/%d/%H")
CAPTURE, LABELS = "capture/ep/AllTraffic", "ground-truth/ep"


def _traffic(rows: int, seed: int):
    """Requests without missing ages: a capture object this small would otherwise break
    age's max_null_ratio, as an upload of its size would."""
    frame = generate_churn(rows, seed=seed)
    return frame.assign(age=frame["age"].fillna(40.0))


def _capture_lines(frame, tag: str, rows_per_request: int = 5) -> list[str]:
    features = [c for c in frame.columns if c != "churned"]
    text = frame[features].to_csv(index=False, header=False).splitlines()
    lines = []
    for start in range(0, len(text), rows_per_request):
        lines.append(
            json.dumps(
                {
                    "captureData": {
                        "endpointInput": {
                            "observedContentType": "text/csv",
                            "mode": "INPUT",
                            "data": "\n".join(text[start : start + rows_per_request]),
                            "encoding": "CSV",
                        }
                    },
                    "eventMetadata": {
                        "eventId": f"{tag}-event-{start}",
                        "inferenceId": f"{tag}-{start}",
                        "inferenceTime": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    },
                    "eventVersion": "0",
                }
            )
        )
    return lines


def _label_lines(frame, tag: str, rows_per_request: int = 5) -> list[str]:
    labels = [str(v) for v in frame["churned"]]
    return [
        json.dumps(
            {
                "groundTruthData": {
                    "data": "\n".join(labels[start : start + rows_per_request]),
                    "encoding": "CSV",
                },
                "eventMetadata": {"eventId": f"{tag}-{start}"},
                "eventVersion": "0",
            }
        )
        for start in range(0, len(labels), rows_per_request)
    ]


def _put_lines(s3, key: str, lines: list[str]) -> dict[str, Any]:
    entry = _put(s3, key, ("\n".join(lines) + "\n").encode())
    modified = s3.head_object(Bucket=DATA, Key=key)["LastModified"]
    return {**entry, "last_modified": modified.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _manifest(s3, objects, capture, labels) -> str:
    body = {
        "trigger": {"event_id": "alarm", "event_type": "drift:alarm"},
        "objects": objects,
        "arrivals": [],
        "labelled_traffic": {
            "since": (NOW - timedelta(days=14)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "until": (NOW + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "capture": capture,
            "ground_truth": labels,
        },
    }
    s3.put_object(Bucket=ARTIFACTS, Key="manifests/labelled.json", Body=json.dumps(body))
    return f"s3://{ARTIFACTS}/manifests/labelled.json"


def test_labelled_traffic_trains_beside_the_accepted_objects_and_is_named(s3, schema, tmp_path):
    upload = _put(s3, "incoming/a.csv", _csv(30, seed=1))
    first, second = _traffic(20, seed=2), _traffic(15, seed=3)
    unlabelled = _traffic(10, seed=4)
    capture = [
        _put_lines(s3, f"{CAPTURE}/{HOUR}/one.jsonl", _capture_lines(first, "one")),
        _put_lines(
            s3,
            f"{CAPTURE}/{HOUR}/two.jsonl",
            _capture_lines(second, "two") + _capture_lines(unlabelled, "never"),
        ),
    ]
    labels = [
        _put_lines(s3, f"{LABELS}/{HOUR}/a.jsonl", _label_lines(first, "one")),
        _put_lines(s3, f"{LABELS}/{HOUR}/b.jsonl", _label_lines(second, "two")),
    ]
    record, rows = _validate(tmp_path, schema, _manifest(s3, [upload], capture, labels))
    assert len(rows) == 30 + 20 + 15  # the unlabelled captured rows are not used
    assert [(o["key"], o["version_id"]) for o in record["objects"]] == [
        ("incoming/a.csv", upload["version_id"])
    ]
    traffic = record["labelled_traffic"]
    assert [(o["key"], o["version_id"], o["labelled_rows"]) for o in traffic["capture"]] == [
        (capture[0]["key"], capture[0]["version_id"], 20),
        (capture[1]["key"], capture[1]["version_id"], 15),
    ]
    assert [(o["key"], o["version_id"]) for o in traffic["ground_truth"]] == [
        (labels[0]["key"], labels[0]["version_id"]),
        (labels[1]["key"], labels[1]["version_id"]),
    ]
    assert all(len(o["sha256"]) == 64 for o in traffic["capture"] + traffic["ground_truth"])
    assert traffic["rows"] == 35 and traffic["n_captured_rows"] == 45
    assert traffic["rejected"] == [] and traffic["not_read"] == []


def test_a_bad_capture_objects_rows_are_quarantined_and_the_capture_stays(s3, schema, tmp_path):
    good, bad = _traffic(20, seed=2), _traffic(20, seed=3)
    capture = [
        _put_lines(s3, f"{CAPTURE}/{HOUR}/good.jsonl", _capture_lines(good, "good")),
        _put_lines(s3, f"{CAPTURE}/{HOUR}/bad.jsonl", _capture_lines(bad, "bad")),
    ]
    bad["churned"] = "maybe"  # labels outside the classes
    labels = [
        _put_lines(
            s3, f"{LABELS}/{HOUR}/l.jsonl", _label_lines(good, "good") + _label_lines(bad, "bad")
        )
    ]
    upload = _put(s3, "incoming/a.csv", _csv(30, seed=1))
    record, rows = _validate(tmp_path, schema, _manifest(s3, [upload], capture, labels))
    assert len(rows) == 30 + 20
    traffic = record["labelled_traffic"]
    [rejected] = traffic["rejected"]
    assert (rejected["key"], rejected["version_id"]) == (
        capture[1]["key"],
        capture[1]["version_id"],
    )
    assert rejected["reasons"] == ["values_outside_classes"] and rejected["rows"] == 20
    assert [o["labelled_rows"] for o in traffic["capture"]] == [20, 0]
    reason = json.loads(
        s3.get_object(Bucket=DATA, Key=f"quarantine/{capture[1]['key']}.labelled.csv.reason.json")[
            "Body"
        ].read()
    )
    assert reason["reason"] == "values_outside_classes"
    assert reason["version_id"] == capture[1]["version_id"]
    assert reason["labelled_by"] == [
        {"key": labels[0]["key"], "version_id": labels[0]["version_id"]}
    ]
    assert "maybe" in reason["message"]
    # the capture object is still current: monitoring reads it
    head = s3.head_object(Bucket=DATA, Key=capture[1]["key"])
    assert head["VersionId"] == capture[1]["version_id"]


def test_labelled_traffic_alone_is_enough_when_it_has_the_rows(s3, schema, tmp_path):
    frame = _traffic(40, seed=5)
    capture = [_put_lines(s3, f"{CAPTURE}/{HOUR}/c.jsonl", _capture_lines(frame, "c"))]
    labels = [_put_lines(s3, f"{LABELS}/{HOUR}/l.jsonl", _label_lines(frame, "c"))]
    record, rows = _validate(tmp_path, schema, _manifest(s3, [], capture, labels))
    assert len(rows) == 40 and record["objects"] == []
    assert rows["churned"].tolist() == [str(v) for v in frame["churned"]]


def test_a_capture_version_gone_before_validate_is_recorded_not_read(s3, schema, tmp_path):
    frame = _traffic(20, seed=5)
    capture = [_put_lines(s3, f"{CAPTURE}/{HOUR}/c.jsonl", _capture_lines(frame, "c"))]
    labels = [_put_lines(s3, f"{LABELS}/{HOUR}/l.jsonl", _label_lines(frame, "c"))]
    s3.delete_object(Bucket=DATA, Key=capture[0]["key"], VersionId=capture[0]["version_id"])
    upload = _put(s3, "incoming/a.csv", _csv(30, seed=1))
    record, rows = _validate(tmp_path, schema, _manifest(s3, [upload], capture, labels))
    assert len(rows) == 30
    [gone] = record["labelled_traffic"]["not_read"]
    assert (gone["key"], gone["version_id"]) == (capture[0]["key"], capture[0]["version_id"])
    assert record["labelled_traffic"]["n_unmatched_records"] == 4


def test_no_rows_at_all_fails_naming_the_input(s3, schema, tmp_path):
    capture = [
        _put_lines(s3, f"{CAPTURE}/{HOUR}/c.jsonl", _capture_lines(generate_churn(5, 1), "c"))
    ]
    with pytest.raises(SystemExit):
        _validate(tmp_path, schema, _manifest(s3, [], capture, []))
    assert "lists none" in (tmp_path / "message").read_text()
