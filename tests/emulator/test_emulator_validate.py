"""Through the local loop: gzip CSV and Parquet objects train together, an object Validate rejects
is quarantined by the Validate job itself (with the pipeline role's rights, authorized as IAM
would), and the next upload trains without anyone deleting the bad object by hand."""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass

import pytest
from conftest import unique
from test_emulator_training import arrivals_paused

from pipelines.datasets import generate_churn


@dataclass
class MixedRun:
    prefix: str
    execution_arn: str
    status: str


def _parquet(frame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


@pytest.fixture(scope="module")
def mixed_run(runtime) -> MixedRun:
    prefix = f"incoming/{unique('mixed')}/"
    bad = generate_churn(300, seed=23).astype({"churned": str})
    bad.loc[:4, "churned"] = "maybe"  # passes the arrival checks, not the schema's classes
    s3 = runtime.cloud.client("s3")
    with arrivals_paused(runtime):
        for name, body in (
            (
                "churn.csv.gz",
                gzip.compress(generate_churn(900, seed=21).to_csv(index=False).encode()),
            ),
            ("churn.parquet", _parquet(generate_churn(900, seed=22))),
            ("bad.csv", bad.to_csv(index=False).encode()),
        ):
            s3.put_object(Bucket=runtime.data_bucket, Key=f"{prefix}{name}", Body=body)
    runtime.settle()
    arn = runtime.cloud.client("sagemaker").start_pipeline_execution(
        PipelineName=runtime.training_pipeline,
        PipelineParameters=[
            {"Name": "InputDataUri", "Value": f"s3://{runtime.data_bucket}/{prefix}"}
        ],
    )["PipelineExecutionArn"]
    return MixedRun(prefix, arn, runtime.executor.wait(arn, 300))


def _validation_report(runtime, execution_arn: str) -> dict:
    execution_id = execution_arn.rsplit("/", 1)[-1]
    body = runtime.cloud.client("s3").get_object(
        Bucket=runtime.artifacts_bucket, Key=f"pipelines/{execution_id}/report/validation.json"
    )["Body"]
    return json.loads(body.read())


def test_gzip_csv_and_parquet_train_together_and_register(mixed_run, runtime):
    assert mixed_run.status == "Succeeded", runtime.executor.failure_reason(mixed_run.execution_arn)
    report = _validation_report(runtime, mixed_run.execution_arn)
    accepted = {o["object"]["key"]: o["rows"] for o in report["objects"] if o["accepted"]}
    assert accepted == {
        f"{mixed_run.prefix}churn.csv.gz": 900,
        f"{mixed_run.prefix}churn.parquet": 900,
    }
    sm = runtime.cloud.client("sagemaker")
    packages = sm.list_model_packages(ModelPackageGroupName=runtime.model_group)[
        "ModelPackageSummaryList"
    ]
    lineages = [
        sm.describe_model_package(ModelPackageName=p["ModelPackageArn"])[
            "CustomerMetadataProperties"
        ]
        for p in packages
    ]
    assert any(m["PipelineExecutionArn"] == mixed_run.execution_arn for m in lineages)


def test_the_rejected_object_is_quarantined_with_its_reason(mixed_run, runtime):
    s3 = runtime.cloud.client("s3")
    key = f"{mixed_run.prefix}bad.csv"
    reason = json.loads(
        s3.get_object(Bucket=runtime.data_bucket, Key=f"quarantine/{key}.reason.json")[
            "Body"
        ].read()
    )
    assert reason["reason"] == "values_outside_classes"
    assert reason["key"] == key and reason["hidden_from_training"] is True
    assert reason["version_id"], "the rejected version is named"
    assert (
        f"{key} (version {reason['version_id']}): target churned: 5 value(s) outside the classes"
        in reason["message"]
    )
    copy = s3.get_object(Bucket=runtime.data_bucket, Key=f"quarantine/{key}")["Body"].read()
    assert b"maybe" in copy
    # Out of the training input (a delete marker), yet its version is kept.
    listed = s3.list_objects_v2(Bucket=runtime.data_bucket, Prefix=mixed_run.prefix)
    assert key not in {o["Key"] for o in listed.get("Contents", [])}
    versions = s3.list_object_versions(Bucket=runtime.data_bucket, Prefix=key)
    assert [v["Key"] for v in versions["Versions"]] == [key]
    assert [m["Key"] for m in versions["DeleteMarkers"]] == [key]


def test_the_next_upload_trains(mixed_run, runtime):
    assert mixed_run.status == "Succeeded"
    key = f"{mixed_run.prefix}more.csv"
    runtime.cloud.client("s3").put_object(
        Bucket=runtime.data_bucket,
        Key=key,
        Body=generate_churn(600, seed=24).to_csv(index=False).encode(),
    )
    assert runtime.settle(60)
    started = [
        e.result
        for e in runtime.bus.timeline
        if (e.target or "").endswith("-data-arrival")
        and isinstance(e.result, dict)
        and e.result.get("status") == "started"
    ]
    assert started, "the upload started no run"
    arn = started[-1]["execution_arn"]
    assert runtime.executor.wait(arn, 300) == "Succeeded", runtime.executor.failure_reason(arn)
    report = _validation_report(runtime, arn)
    keys = {o["object"]["key"] for o in report["objects"]}
    assert key in keys and f"{mixed_run.prefix}bad.csv" not in keys
