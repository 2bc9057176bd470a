"""`mlops approve` and `mlops lineage` against a (mocked) AWS account."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from mlops.cli import main

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "config/dev.json")
ARTIFACTS = "mlops-dev-artifacts-123456789012-us-east-1"
DATA = "mlops-dev-data-123456789012-us-east-1"
GROUP = "mlops-dev-models"
ENDPOINT = "mlops-dev-endpoint"
EXECUTIONS = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/mlops-dev-training/execution"


@pytest.fixture
def aws(moto_credentials):
    with mock_aws():
        s3, sm = boto3.client("s3"), boto3.client("sagemaker")
        for bucket in (ARTIFACTS, DATA):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
        yield s3, sm


def _register(s3, sm, run: str, status: str = "PendingManualApproval") -> str:
    version = s3.put_object(Bucket=DATA, Key=f"incoming/{run}.csv", Body=b"a,b\n1,2\n")["VersionId"]
    manifest = {
        "trigger": {"event_id": f"evt-{run}", "event_type": "s3:ObjectCreated"},
        "objects": [
            {"bucket": DATA, "key": f"incoming/{run}.csv", "version_id": version, "size": 8}
        ],
    }
    s3.put_object(Bucket=ARTIFACTS, Key=f"manifests/{run}.json", Body=json.dumps(manifest))
    return sm.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [
                {"Image": "sklearn:1.9-0", "ModelDataUrl": f"s3://{ARTIFACTS}/m.tar.gz"}
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        CustomerMetadataProperties={
            "PipelineExecutionArn": f"{EXECUTIONS}/{run}",
            "TriggerEventId": f"evt-{run}",
            "TriggerEventType": "s3:ObjectCreated",
            "DataManifestUri": f"s3://{ARTIFACTS}/manifests/{run}.json",
            "InputDataUri": f"s3://{DATA}/incoming/",
            "CodeVersion": "abc123def456",
            "MetricName": "roc_auc",
            "MetricValue": "0.81",
        },
    )["ModelPackageArn"]


def _attach_data_objects(s3, sm, arn: str, run: str, record: dict) -> None:
    """The run's Validate record (`data_objects.json`), named by its package's DataObjectsUri."""
    key = f"pipelines/{run}/report/data_objects.json"
    s3.put_object(Bucket=ARTIFACTS, Key=key, Body=json.dumps(record))
    meta = sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]
    sm.update_model_package(
        ModelPackageArn=arn,
        CustomerMetadataProperties={**meta, "DataObjectsUri": f"s3://{ARTIFACTS}/{key}"},
    )


def _go_live(s3, arn: str) -> None:
    record = {"endpoint_name": ENDPOINT, "model_package_arn": arn}
    s3.put_object(Bucket=ARTIFACTS, Key=f"live/{ENDPOINT}.json", Body=json.dumps(record))


def test_approve_marks_the_newest_pending_model_approved(aws, capsys):
    s3, sm = aws
    older, newer = _register(s3, sm, "r1"), _register(s3, sm, "r2")
    assert main(["approve", "--config", CONFIG]) == 0
    assert newer in capsys.readouterr().out
    assert sm.describe_model_package(ModelPackageName=newer)["ModelApprovalStatus"] == "Approved"
    assert sm.describe_model_package(ModelPackageName=older)["ModelApprovalStatus"] == (
        "PendingManualApproval"
    )


def test_approve_without_a_pending_model_fails_clearly(aws, capsys):
    assert main(["approve", "--config", CONFIG]) == 1
    assert f"no model pending approval in {GROUP}" in capsys.readouterr().err
    assert main(["approve", "--config", CONFIG, "--version", "7"]) == 1
    assert f"no version 7 in {GROUP}" in capsys.readouterr().err


def test_lineage_names_the_model_that_served_then_and_its_data(aws, capsys):
    s3, sm = aws
    first, second = _register(s3, sm, "r1", "Approved"), _register(s3, sm, "r2", "Approved")
    _go_live(s3, first)
    versions = s3.list_object_versions(Bucket=ARTIFACTS, Prefix=f"live/{ENDPOINT}.json")
    first_live = versions["Versions"][0]["LastModified"]
    time.sleep(1.1)  # S3 times have one-second resolution
    _go_live(s3, second)

    at = (first_live + timedelta(milliseconds=500)).isoformat()
    assert main(["lineage", "--config", CONFIG, "--at", at, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["model_package_arn"] == first
    assert answer["trigger_event_id"] == "evt-r1"
    assert answer["pipeline_execution_arn"].endswith("/execution/r1")
    assert [o["key"] for o in answer["data_objects"]] == ["incoming/r1.csv"]
    assert answer["metric"] == {"name": "roc_auc", "value": "0.81"}

    assert main(["lineage", "--config", CONFIG]) == 0
    now = capsys.readouterr().out
    assert second in now and "evt-r2" in now and "incoming/r2.csv" in now


def test_lineage_names_the_versions_the_run_read_not_the_ones_it_could_not(aws, capsys):
    """The run's Validate record (DataObjectsUri) is the truth: a manifest version that was
    gone when Validate read it is not named as training data."""
    s3, sm = aws
    arn = _register(s3, sm, "r1", "Approved")
    manifest = json.loads(s3.get_object(Bucket=ARTIFACTS, Key="manifests/r1.json")["Body"].read())
    [read] = manifest["objects"]
    gone = {**read, "key": "incoming/gone.csv", "version_id": "v-gone"}
    manifest["objects"].append(gone)
    s3.put_object(Bucket=ARTIFACTS, Key="manifests/r1.json", Body=json.dumps(manifest))
    record = {"objects": [read], "not_read": [{**gone, "reason": "NoSuchVersion"}]}
    _attach_data_objects(s3, sm, arn, "r1", record)
    _go_live(s3, arn)
    assert main(["lineage", "--config", CONFIG, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert [(o["key"], o["version_id"]) for o in answer["data_objects"]] == [
        ("incoming/r1.csv", read["version_id"])
    ]


def test_lineage_names_the_capture_and_label_versions_of_labelled_traffic(aws, capsys):
    s3, sm = aws
    arn = _register(s3, sm, "r1", "Approved")
    manifest = json.loads(s3.get_object(Bucket=ARTIFACTS, Key="manifests/r1.json")["Body"].read())
    capture = {"bucket": DATA, "key": f"capture/{ENDPOINT}/AllTraffic/2026/03/02/09/a.jsonl"}
    labels = {"bucket": DATA, "key": f"ground-truth/{ENDPOINT}/2026/03/02/10/l.jsonl"}
    record = {
        "objects": manifest["objects"],
        "labelled_traffic": {
            "since": "2026-02-16T09:30:00Z",
            "until": "2026-03-02T09:30:00Z",
            "rows": 40,
            "capture": [{**capture, "version_id": "v-cap", "labelled_rows": 40}],
            "ground_truth": [{**labels, "version_id": "v-gt"}],
        },
    }
    _attach_data_objects(s3, sm, arn, "r1", record)
    _go_live(s3, arn)
    assert main(["lineage", "--config", CONFIG, "--json"]) == 0
    traffic = json.loads(capsys.readouterr().out)["labelled_traffic"]
    assert traffic["rows"] == 40
    assert [(o["key"], o["version_id"], o["rows"]) for o in traffic["capture"]] == [
        (capture["key"], "v-cap", 40)
    ]
    assert [(o["key"], o["version_id"]) for o in traffic["ground_truth"]] == [
        (labels["key"], "v-gt")
    ]
    assert main(["lineage", "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    assert (
        "labelled 40 rows of captured traffic, 2026-02-16T09:30:00Z to 2026-03-02T09:30:00Z" in out
    )
    assert f"s3://{DATA}/{capture['key']} version v-cap (40 rows)" in out
    assert f"s3://{DATA}/{labels['key']} version v-gt (labels)" in out


def test_lineage_before_any_deployment_says_nothing_served(aws, capsys):
    assert main(["lineage", "--config", CONFIG]) == 1
    assert "no model served mlops-dev-endpoint" in capsys.readouterr().err


def test_lineage_after_the_endpoint_was_taken_down_names_no_deleted_model(aws, capsys):
    s3, sm = aws
    _go_live(s3, _register(s3, sm, "r1", "Approved"))
    record = {"endpoint_name": ENDPOINT, "model_package_arn": None, "reason": "rejected"}
    s3.put_object(Bucket=ARTIFACTS, Key=f"live/{ENDPOINT}.json", Body=json.dumps(record))
    assert main(["lineage", "--config", CONFIG]) == 1
    err = capsys.readouterr().err
    assert "no model served mlops-dev-endpoint" in err and "deleted" in err and "rejected" in err
