"""Fixtures of the SageMaker-side emulator tests: a moto server, its resources, a training run.

Imported by name from the test modules (not a conftest.py, which another part of the emulator
owns). The step processes need a real HTTP endpoint, hence ThreadedMotoServer, one per module.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from emulator.pipeline_executor import PipelineExecutor
from pipelines.bundle import build_code_bundle, code_version
from pipelines.datasets import generate_churn

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@dataclass
class Events:
    """What an emit callback received, safe to read while a worker thread appends."""

    items: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: dict) -> None:
        with self.lock:
            self.items.append(json.loads(json.dumps(event)))  # must be JSON, like a real bus

    def of(self, detail_type: str) -> list[dict]:
        with self.lock:
            return [e for e in self.items if e["detail-type"] == detail_type]


@dataclass
class Cloud:
    url: str
    prefix: str
    data_bucket: str
    artifacts_bucket: str
    group: str
    endpoint_name: str
    code_uri: str
    code_version: str
    role_arn: str = f"arn:aws:iam::{ACCOUNT}:role/pipeline"

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def substitutions(self) -> dict[str, str]:
        return {
            "PipelineRoleArn": self.role_arn,
            "CodeBundleUri": self.code_uri,
            "CodeVersion": self.code_version,
            "DataBucket": self.data_bucket,
            "ArtifactsBucket": self.artifacts_bucket,
            "ModelPackageGroupName": self.group,
            "SklearnImageUri": SKLEARN_IMAGE,
            "EndpointName": self.endpoint_name,
            "MetricsNamespace": f"{self.prefix}/Drift",
            "KmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/local",
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
        }

    def resolve(self, definition_json: str) -> dict:
        """What the CDK stack's Fn::Sub does to the definition, by plain replacement."""
        for name, value in self.substitutions().items():
            definition_json = definition_json.replace("${" + name + "}", value)
        assert "${" not in definition_json, "a placeholder was left unresolved"
        return json.loads(definition_json)

    def put_csv(self, key: str, body: str) -> None:
        self.client("s3").put_object(Bucket=self.data_bucket, Key=key, Body=body.encode())


def dev_config() -> dict:
    return json.loads((REPO / "config" / "dev.json").read_text("utf-8"))


def training_definition(cloud: Cloud) -> dict:
    from pipelines.training import build_training_definition, training_settings_from_config

    settings = training_settings_from_config(dev_config())
    return cloud.resolve(build_training_definition(settings))


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    suffix = uuid.uuid4().hex[:8]
    bundle = build_code_bundle(tmp_path_factory.mktemp("bundle"))
    cloud = Cloud(
        url=f"http://{host}:{port}",
        prefix=f"mlops-{suffix}",
        data_bucket=f"data-{suffix}",
        artifacts_bucket=f"artifacts-{suffix}",
        group=f"mlops-{suffix}-models",
        endpoint_name=f"mlops-{suffix}-endpoint",
        code_uri=f"s3://artifacts-{suffix}/code/{bundle.name}",
        code_version=code_version(bundle),
    )
    s3 = cloud.client("s3")
    for bucket in (cloud.data_bucket, cloud.artifacts_bucket):
        s3.create_bucket(Bucket=bucket)
    s3.upload_file(str(bundle), cloud.artifacts_bucket, f"code/{bundle.name}")
    cloud.client("sagemaker").create_model_package_group(ModelPackageGroupName=cloud.group)
    try:
        yield cloud
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def churn_csv(rows: int, seed: int) -> str:
    return generate_churn(rows, seed).to_csv(index=False)


@dataclass
class Run:
    executor: PipelineExecutor
    events: Events
    pipeline_arn: str
    execution_arn: str
    status: str
    described_while_running: str


def run_training(
    cloud: Cloud,
    scratch: Path,
    pipeline_name: str,
    parameters: dict[str, str],
    timeout: float = 300.0,
) -> Run:
    """Create the pipeline in moto, start an execution there, and run it with the executor."""
    definition = training_definition(cloud)
    sm = cloud.client("sagemaker")
    pipeline_arn = sm.create_pipeline(
        PipelineName=pipeline_name,
        PipelineDefinition=json.dumps(definition),
        RoleArn=cloud.role_arn,
    )["PipelineArn"]
    execution_arn = sm.start_pipeline_execution(
        PipelineName=pipeline_name,
        PipelineParameters=[{"Name": k, "Value": v} for k, v in parameters.items()],
    )["PipelineExecutionArn"]
    events = Events()
    executor = PipelineExecutor(endpoint_url=cloud.url, scratch_dir=scratch, emit=events)
    executor.start(
        pipeline_arn=pipeline_arn,
        execution_arn=execution_arn,
        definition=definition,
        parameters=parameters,
    )
    running = sm.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    status = executor.wait(execution_arn, timeout)
    return Run(
        executor, events, pipeline_arn, execution_arn, status, running["PipelineExecutionStatus"]
    )


@pytest.fixture(scope="module")
def good_run(cloud: Cloud, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One successful training run on generated data, shared by a module's tests."""
    cloud.put_csv("incoming/good/churn.csv", churn_csv(1500, seed=3))
    return run_training(
        cloud,
        tmp_path_factory.mktemp("scratch"),
        f"{cloud.prefix}-training",
        {
            "InputDataUri": f"s3://{cloud.data_bucket}/incoming/good/",
            "TriggerEventId": "evt-123",
            "TriggerEventType": "manual",
        },
    )
