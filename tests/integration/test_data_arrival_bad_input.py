"""Every bad input of the issue: accepted, ignored with a logged reason, or quarantined."""

from __future__ import annotations

import gzip

import pytest
from lambda_fixtures import (
    DATA_BUCKET,
    GOOD_CSV,
    HEADER,
    SCHEMA,
    handler,
    load_event,
    log_records,
    s3_event,
)

from functions.data_arrival.logic import process_event
from functions.shared.events import ObjectCreatedEvent
from functions.shared.settings import DataArrivalSettings, load_settings

ROWS = "12,70.5,one-year,0\n"


def _reason(aws, key: str) -> dict:
    return aws.json_object(DATA_BUCKET, f"quarantine/{key}.reason.json")


def _run(aws, context, key: str, body: bytes) -> tuple[dict, str]:
    version = aws.put(key, body)
    return handler("data_arrival")(s3_event(key, version, len(body)), context), version


@pytest.mark.parametrize(
    ("name", "key", "body", "reason"),
    [
        ("zero_byte", "incoming/empty.csv", b"", "empty_object"),
        ("wrong_extension", "incoming/notes.txt", GOOD_CSV, "extension_not_allowed"),
        (
            "not_utf8",
            "incoming/latin1.csv",
            HEADER.encode() + "5,1.0,été,0\n".encode("latin-1"),
            "not_utf8",
        ),
        (
            "missing_column",
            "incoming/m.csv",
            b"tenure_months,monthly_charges,contract\n1,2,x\n",
            "header_missing_columns",
        ),
        (
            "extra_column",
            "incoming/e.csv",
            (",".join([*SCHEMA, "x"]) + "\n" + ROWS).encode(),
            "header_extra_columns",
        ),
        (
            "renamed_column",
            "incoming/r.csv",
            (",".join(["tenure", *SCHEMA[1:]]) + "\n" + ROWS).encode(),
            "header_mismatch",
        ),
        ("bom", "incoming/bom.csv", b"\xef\xbb\xbf" + GOOD_CSV, "utf8_bom"),
        ("fake_gzip", "incoming/fake.csv.gz", GOOD_CSV, "invalid_gzip"),
        ("gzip_bad_header", "incoming/bad.csv.gz", gzip.compress(b"a,b\n1,2\n"), "header_mismatch"),
    ],
)
def test_bad_object_is_quarantined_with_reason(aws, context, logs, name, key, body, reason):
    result, version = _run(aws, context, key, body)
    assert result == {"status": "quarantined", "reason": reason, "key": key}, name
    record = _reason(aws, key)
    assert record["reason"] == reason
    assert record["version_id"] == version
    assert record["key"] == key
    copy = aws.s3.get_object(Bucket=DATA_BUCKET, Key=f"quarantine/{key}")["Body"].read()
    assert copy == body
    # never deleted: the original version is still there
    assert aws.s3.head_object(Bucket=DATA_BUCKET, Key=key, VersionId=version)
    # ...but no longer current under incoming/, so training never reads it
    current_keys = [
        o["Key"]
        for o in aws.s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix="incoming/").get("Contents", [])
    ]
    assert key not in current_keys
    assert record["hidden_from_training"] is True
    assert aws.executions() == []
    records = log_records(logs)
    assert any(r["message"] == "object quarantined" and r["reason"] == reason for r in records)
    assert any("ObjectQuarantined" in r and r.get("reason") == reason for r in records), (
        "quarantine metric with its reason dimension"
    )


def test_gzip_accepted_when_allowed(aws, context):
    result, _ = _run(aws, context, "incoming/packed.csv.gz", gzip.compress(GOOD_CSV))
    assert result["status"] == "started"


def test_gzip_quarantined_when_not_allowed(aws, context):
    settings = load_settings(DataArrivalSettings).model_copy(update={"allow_gzip": False})
    body = gzip.compress(GOOD_CSV)
    version = aws.put("incoming/packed.csv.gz", body)
    event = ObjectCreatedEvent.model_validate(s3_event("incoming/packed.csv.gz", version, 10))
    result = process_event(event, settings, context)
    assert result["reason"] == "gzip_not_allowed"
    assert _reason(aws, "incoming/packed.csv.gz")["version_id"] == version


def test_oversized_object_is_quarantined(aws, context):
    settings = load_settings(DataArrivalSettings).model_copy(update={"max_object_bytes": 10})
    version = aws.put("incoming/big.csv", GOOD_CSV)
    event = ObjectCreatedEvent.model_validate(s3_event("incoming/big.csv", version, len(GOOD_CSV)))
    result = process_event(event, settings, context)
    assert result["reason"] == "too_large"
    assert _reason(aws, "incoming/big.csv")["details"]["size"] == len(GOOD_CSV)


def test_encoded_key_with_spaces_unicode_and_plus_is_accepted(aws, context):
    key = "incoming/monthly report été +1.csv"
    version = aws.put(key, GOOD_CSV)
    event = load_event("s3_object_created_encoded_key.json")
    event["detail"]["object"]["version-id"] = version
    result = handler("data_arrival")(event, context)
    assert result == {
        "status": "started",
        "execution_arn": result["execution_arn"],
        "key": key,
    }


@pytest.mark.parametrize(
    ("event_file", "reason"),
    [
        ("s3_object_created_other_prefix.json", "other_prefix"),
        ("s3_object_created_other_bucket.json", "other_bucket"),
        ("s3_object_created_folder_marker.json", "folder_marker"),
        ("s3_object_deleted.json", "not_object_created"),
        ("s3_object_created_truncated.json", "malformed_event"),
        ("scheduled_event.json", "malformed_event"),
    ],
)
def test_events_that_are_not_arrivals_are_ignored(aws, context, logs, event_file, reason):
    result = handler("data_arrival")(load_event(event_file), context)
    assert result == {"status": "ignored", "reason": reason}
    records = log_records(logs)
    assert any(r["message"] == "event ignored" and r["reason"] == reason for r in records)
    assert aws.executions() == []


@pytest.mark.parametrize("event", [{}, {"detail": None}, {"id": 1, "detail-type": []}, "x"])
def test_malformed_event_does_not_crash(aws, context, event):
    assert handler("data_arrival")(event, context)["reason"] == "malformed_event"


def test_object_deleted_before_read_is_ignored(aws, context, logs):
    version = aws.put("incoming/gone.csv", GOOD_CSV)
    aws.s3.delete_object(Bucket=DATA_BUCKET, Key="incoming/gone.csv", VersionId=version)
    result = handler("data_arrival")(s3_event("incoming/gone.csv", version, 10), context)
    assert result == {"status": "ignored", "reason": "object_not_found"}
    assert aws.executions() == []


def test_quarantine_never_hides_a_newer_good_upload_under_the_same_key(aws, context):
    bad_version = aws.put("incoming/daily.csv", b"")
    good_version = aws.put("incoming/daily.csv", GOOD_CSV)
    event = ObjectCreatedEvent.model_validate(s3_event("incoming/daily.csv", bad_version, 0))
    result = process_event(event, load_settings(DataArrivalSettings), context)
    assert result["reason"] == "empty_object"
    assert _reason(aws, "incoming/daily.csv")["hidden_from_training"] is False
    head = aws.s3.head_object(Bucket=DATA_BUCKET, Key="incoming/daily.csv")
    assert head["VersionId"] == good_version
