"""Validate reads exactly the object versions of its run's manifest (moto): not what is under
`incoming/` when the job starts, and never an object it could not read in the lineage record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from moto import mock_aws

from pipelines.datasets import generate_churn
from pipelines.entrypoints import validate
from pipelines.entrypoints.common import pack_schema
from pipelines.schema import DatasetSchema
from pipelines.steps.tabular import read_typed

ROOT = Path(__file__).resolve().parents[2]
DATA, ARTIFACTS = "data-bucket", "artifacts-bucket"


@pytest.fixture
def s3(monkeypatch) -> Iterator[Any]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in (DATA, ARTIFACTS):
            client.create_bucket(Bucket=bucket)
            client.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        yield client


@pytest.fixture(scope="module")
def schema() -> DatasetSchema:
    dataset = json.loads((ROOT / "config/dev.json").read_text())["dataset"]
    return DatasetSchema.model_validate({**dataset, "min_rows": 10})


def _csv(rows: int, seed: int) -> bytes:
    return generate_churn(rows, seed=seed).to_csv(index=False).encode()


def _put(s3, key: str, body: bytes) -> dict[str, Any]:
    version = s3.put_object(Bucket=DATA, Key=key, Body=body)["VersionId"]
    return {"bucket": DATA, "key": key, "version_id": version, "size": len(body)}


def _manifest(s3, *objects: dict[str, Any]) -> str:
    body = {"trigger": {"event_id": "e", "event_type": "drift:alarm"}, "objects": list(objects)}
    s3.put_object(Bucket=ARTIFACTS, Key="manifests/run.json", Body=json.dumps(body))
    return f"s3://{ARTIFACTS}/manifests/run.json"


def _validate(tmp: Path, schema: DatasetSchema, manifest_uri: str) -> tuple[dict, pd.DataFrame]:
    validate.main(
        [
            "--schema", *pack_schema(schema),
            "--data-dir", str(tmp / "data"),
            "--output", str(tmp / "validated"),
            "--report", str(tmp / "report"),
            "--message-file", str(tmp / "message"),
            "--input-uri", f"s3://{DATA}/incoming/",
            "--manifest-uri", manifest_uri,
        ]
    )  # fmt: skip
    record = json.loads((tmp / "report" / validate.DATA_OBJECTS_FILE).read_text())
    return record, read_typed(tmp / "validated", schema)


def test_an_object_overwritten_after_the_run_was_decided_is_read_as_decided(s3, schema, tmp_path):
    decided = _put(s3, "incoming/a.csv", _csv(30, seed=1))
    manifest = _manifest(s3, decided)
    _put(s3, "incoming/a.csv", _csv(80, seed=2))  # a new version, after the run was decided
    _put(s3, "incoming/late.csv", _csv(40, seed=3))  # an arrival the run was not decided on
    record, rows = _validate(tmp_path, schema, manifest)
    assert len(rows) == 30
    assert [(o["key"], o["version_id"]) for o in record["objects"]] == [
        ("incoming/a.csv", decided["version_id"])
    ]


def test_an_object_deleted_after_the_run_started_is_still_read_by_its_version(s3, schema, tmp_path):
    kept, deleted = _put(s3, "incoming/a.csv", _csv(30, 1)), _put(s3, "incoming/b.csv", _csv(20, 2))
    manifest = _manifest(s3, kept, deleted)
    s3.delete_object(Bucket=DATA, Key="incoming/b.csv")  # a delete marker; the version is kept
    record, rows = _validate(tmp_path, schema, manifest)
    assert len(rows) == 50
    assert {o["key"] for o in record["objects"]} == {"incoming/a.csv", "incoming/b.csv"}
    assert record["not_read"] == []


def test_a_version_gone_before_validate_is_recorded_not_read_and_left_out(s3, schema, tmp_path):
    kept, gone = _put(s3, "incoming/a.csv", _csv(30, 1)), _put(s3, "incoming/b.csv", _csv(20, 2))
    manifest = _manifest(s3, kept, gone)
    s3.delete_object(Bucket=DATA, Key="incoming/b.csv", VersionId=gone["version_id"])
    record, rows = _validate(tmp_path, schema, manifest)
    assert len(rows) == 30
    assert [o["key"] for o in record["objects"]] == ["incoming/a.csv"]
    [not_read] = record["not_read"]
    assert (not_read["key"], not_read["version_id"]) == ("incoming/b.csv", gone["version_id"])
    assert "no longer exists" in not_read["reason"]


def test_every_listed_key_is_read_whatever_its_case(s3, schema, tmp_path):
    upper, lower = (
        _put(s3, "incoming/UPPER.CSV", _csv(30, 1)),
        _put(s3, "incoming/b.csv", _csv(20, 2)),
    )
    record, rows = _validate(tmp_path, schema, _manifest(s3, upper, lower))
    assert len(rows) == 50
    assert {o["key"] for o in record["objects"]} == {"incoming/UPPER.CSV", "incoming/b.csv"}


def test_a_run_without_a_manifest_reads_the_current_objects_and_records_their_versions(
    s3, schema, tmp_path
):
    current = _put(s3, "incoming/a.csv", _csv(30, 1))
    _put(s3, "incoming/bad.csv", b"customer,when\n1,yesterday\n")
    s3.delete_object(Bucket=DATA, Key="incoming/bad.csv")  # quarantined: a delete marker
    record, rows = _validate(tmp_path, schema, "")
    assert len(rows) == 30
    assert [(o["key"], o["version_id"]) for o in record["objects"]] == [
        ("incoming/a.csv", current["version_id"])
    ]


def test_nothing_readable_fails_naming_the_objects(s3, schema, tmp_path):
    gone = _put(s3, "incoming/a.csv", _csv(30, 1))
    manifest = _manifest(s3, gone)
    s3.delete_object(Bucket=DATA, Key="incoming/a.csv", VersionId=gone["version_id"])
    with pytest.raises(SystemExit):
        _validate(tmp_path, schema, manifest)
    message = (tmp_path / "message").read_text()
    assert f"s3://{DATA}/incoming/a.csv version {gone['version_id']}" in message
