"""Emulator tests run the very template `cdk deploy` would (synthesized once per session) in a
local runtime of their module; real clients (boto3, the AWS CLI) talk to it on its one URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.bus import EXACTLY_ONCE
from emulator.runtime import LocalRuntime, SynthesizedStack

AWS_CLI = str(Path(sys.executable).parent / "aws")


@pytest.fixture(scope="session")
def dev_template(synthesize) -> dict[str, Any]:
    return synthesize("dev").raw


@pytest.fixture(scope="module")
def runtime(synthesize, tmp_path_factory) -> Iterator[LocalRuntime]:
    """The dev stack deployed in a local runtime of this module; retries and canary waits are
    scaled down (time_scale) so a test sees them in seconds."""
    dev = synthesize("dev")
    scratch = tmp_path_factory.mktemp("runtime")
    stack = SynthesizedStack(dev.name, dev.raw, dev.outdir)
    with LocalRuntime(
        stack=stack, scratch_dir=scratch, time_scale=0.002, delivery=EXACTLY_ONCE
    ) as started:
        yield started


def aws_cli(runtime: LocalRuntime, *args: str, check: bool = True) -> Any:
    """Run the AWS CLI against the runtime, as a user would; its JSON answer (or stdout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_ACCESS_KEY_ID": "user-key",
        "AWS_SECRET_ACCESS_KEY": "user-secret",
        "AWS_DEFAULT_REGION": runtime.cloud.region,
    }
    done = subprocess.run(
        [AWS_CLI, "--endpoint-url", runtime.cloud.endpoint_url, "--output", "json", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stderr
    try:
        return json.loads(done.stdout) if done.stdout.strip() else {}
    except ValueError:
        return done.stdout


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def register_package(runtime: LocalRuntime, model_url: str = "s3://nowhere/model.tar.gz") -> str:
    """A model version in the stack's group, pending approval, as the training pipeline
    registers one; its ARN."""
    return runtime.cloud.client("sagemaker").create_model_package(
        ModelPackageGroupName=runtime.model_group,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": "sklearn:1.2",
                    "ModelDataUrl": model_url,
                    "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        CustomerMetadataProperties={"MetricName": "roc_auc", "MetricValue": "0.9"},
    )["ModelPackageArn"]


def package_of(runtime: LocalRuntime, execution_arn: str) -> dict[str, Any]:
    """The one model package (described) that the pipeline execution registered."""
    sm = runtime.cloud.client("sagemaker")
    summaries = sm.list_model_packages(ModelPackageGroupName=runtime.model_group)
    [package] = [
        d
        for p in summaries["ModelPackageSummaryList"]
        if (d := sm.describe_model_package(ModelPackageName=p["ModelPackageArn"]))[
            "CustomerMetadataProperties"
        ]["PipelineExecutionArn"]
        == execution_arn
    ]
    return package


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
