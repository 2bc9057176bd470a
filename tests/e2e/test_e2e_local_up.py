"""Real clients against `mlops local up`: the AWS CLI uploads data, boto3 approves (as Studio
does) and invokes the endpoint; nothing in the clients knows it is not AWS."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from emulator.local_up import READY
from pipelines.datasets import generate_churn

REPO = Path(__file__).resolve().parents[2]
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def local_up(synthesize, tmp_path_factory):
    dev = synthesize("dev")
    workdir = tmp_path_factory.mktemp("local-up")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlops.cli",
            "local",
            "up",
            "--port",
            "0",
            "--config",
            str(REPO / "config/dev.json"),
            "--cdk-out",
            str(dev.outdir),
            "--alarm-every",
            "3600",
        ],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = None
    for line in process.stdout:
        if READY in line:
            url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
            break
    assert url, "mlops local up exited before it was ready"
    yield url, dev.config
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0


def test_aws_cli_upload_trains_boto3_approval_deploys_and_the_endpoint_predicts(local_up, tmp_path):
    url, config = local_up
    prefix = config.prefix
    data_bucket = f"{prefix}-data-123456789012-us-east-1"
    csv = tmp_path / "churn.csv"
    generate_churn(1500, seed=3).to_csv(csv, index=False)

    upload = subprocess.run(
        [
            str(Path(sys.executable).parent / "aws"),
            "--endpoint-url",
            url,
            "s3",
            "cp",
            str(csv),
            f"s3://{data_bucket}/incoming/from-cli.csv",
        ],
        env={**os.environ, **CREDENTIALS},
        capture_output=True,
        text=True,
        check=False,
    )
    assert upload.returncode == 0, upload.stderr

    def client(service: str):
        return boto3.client(
            service,
            endpoint_url=url,
            **{
                "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing",
                "region_name": "us-east-1",
            },
        )

    sm = client("sagemaker")

    def finished_run():
        runs = sm.list_pipeline_executions(PipelineName=f"{prefix}-training")[
            "PipelineExecutionSummaries"
        ]
        done = [r for r in runs if r["PipelineExecutionStatus"] in ("Succeeded", "Failed")]
        return done[0] if done else None

    run = _wait_for(finished_run, 180, "the training run started by the CLI upload")
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=run["PipelineExecutionArn"])
    failures = [
        s.get("FailureReason")
        for s in steps["PipelineExecutionSteps"]
        if s["StepStatus"] == "Failed"
    ]
    assert run["PipelineExecutionStatus"] == "Succeeded", failures

    (package,) = sm.list_model_packages(ModelPackageGroupName=f"{prefix}-models")[
        "ModelPackageSummaryList"
    ]
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    sm.update_model_package(
        ModelPackageArn=package["ModelPackageArn"], ModelApprovalStatus="Approved"
    )

    endpoint = f"{prefix}-endpoint"

    def in_service():
        try:
            return sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"
        except sm.exceptions.ClientError:
            return False

    _wait_for(in_service, 60, "the endpoint to serve the approved model")
    status = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlops.cli",
            "status",
            "--endpoint-url",
            url,
            "--config",
            str(REPO / "config/dev.json"),
        ],
        env={**os.environ, **CREDENTIALS},
        capture_output=True,
        text=True,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    assert f"Endpoint {endpoint}: InService" in status.stdout
    assert "Approved" in status.stdout and "Succeeded" in status.stdout
    rows = generate_churn(5, seed=4).drop(columns=[config.dataset.target])
    response = client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint,
        ContentType="text/csv",
        Accept="text/csv",
        Body=rows.to_csv(index=False, header=False).encode(),
    )
    predictions = [line.split(",") for line in response["Body"].read().decode().split()]
    assert len(predictions) == 5
    for label, probability in predictions:  # the predicted class and its probability
        assert label in {"0", "1"} and 0.0 <= float(probability) <= 1.0
