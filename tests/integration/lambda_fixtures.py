"""moto fixtures for the Lambda functions: credentials -> mock_aws -> resources -> handlers.

Handlers are imported only after the mock starts and the environment is set, and every cached
client (and the idempotency wrapper that holds one) is dropped between tests.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.config import load_config, parse_config
from infra.contracts import settings_in_account

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
EVENTS = Path(__file__).resolve().parents[1] / "events"


def _config():
    """dev.json with three of its features: short CSV samples, the same contracts."""
    raw = load_config(REPO / "config/dev.json").model_dump(mode="json", exclude_none=True)
    keep = ("tenure_months", "monthly_charges", "contract")
    raw["dataset"]["features"] = [f for f in raw["dataset"]["features"] if f["name"] in keep]
    return parse_config(raw, source="integration fixtures")


CONFIG = _config()
NAMES = CONFIG.names
# Every function's environment as the stack produces it in this account (infra/contracts.py).
SETTINGS = settings_in_account(CONFIG, account=ACCOUNT, region=REGION)
PREFIX = NAMES.prefix
DATA_BUCKET = SETTINGS["data_arrival"].data_bucket
ARTIFACTS_BUCKET = SETTINGS["data_arrival"].artifacts_bucket
TABLE = NAMES.state_table
PIPELINE = NAMES.training_pipeline
GROUP = NAMES.model_group
ENDPOINT = NAMES.endpoint
PIPELINE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{NAMES.sagemaker_role}"
MODEL_ROLE_ARN = SETTINGS["deploy"].model_role_arn
SCHEMA = list(CONFIG.dataset.columns)

ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "1",
    "AWS_LAMBDA_FUNCTION_NAME": "mlops-dev-test",
    # The four functions' variables agree wherever they share one, but for the service name.
    **{k: v for settings in SETTINGS.values() for k, v in settings.to_env().items()},
    "POWERTOOLS_SERVICE_NAME": "mlops-test",
}
# The functions' own environment, as Lambda sets it; each test starts with no settings cached.
os.environ.update(ENV)

HEADER = ",".join(SCHEMA) + "\n"
GOOD_CSV = (HEADER + "12,70.5,one-year,0\n3,20.0,month-to-month,1\n").encode()


class FakeContext:
    """The LambdaContext attributes Powertools reads."""

    function_name = "mlops-dev-test"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:mlops-dev-test"
    aws_request_id = "5a8b2d5e-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/mlops-dev-test"
    log_stream_name = "2026/11/20/[$LATEST]0123456789"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@dataclass
class Aws:
    s3: Any
    ddb: Any
    sagemaker: Any
    sns: Any
    sqs: Any
    queue_url: str

    def messages(self) -> list[dict[str, Any]]:
        """SNS notifications published so far (through an SQS subscription)."""
        out = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            if not got.get("Messages"):
                return out
            out.extend(json.loads(m["Body"]) for m in got["Messages"])

    def executions(self) -> list[dict[str, Any]]:
        return self.sagemaker.list_pipeline_executions(PipelineName=PIPELINE)[
            "PipelineExecutionSummaries"
        ]

    def put(self, key: str, body: bytes) -> str:
        return self.s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=body)["VersionId"]

    def json_object(self, bucket: str, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def arrive(self, key: str, body: bytes, event_id: str) -> tuple[str, dict[str, Any]]:
        """Upload `key` and hand its Object Created event to data_arrival; then release any
        run it started, so the next trigger is not blocked. (version, the function's answer)"""
        from functions.shared.settings import DataArrivalSettings, load_settings
        from functions.shared.training import release_guard

        version = self.put(key, body)
        answer = handler("data_arrival")(s3_event(key, version, len(body), event_id), FakeContext())
        if answer.get("execution_arn"):
            release_guard(load_settings(DataArrivalSettings), execution_arn=answer["execution_arn"])
        return version, answer

    def manifest_of(self, execution_arn: str) -> dict[str, Any]:
        """The data manifest a run was started with (its DataManifestUri parameter)."""
        from moto.sagemaker.models import sagemaker_backends

        execution = (
            sagemaker_backends[ACCOUNT][REGION]
            .pipelines[PIPELINE]
            .pipeline_executions[execution_arn]
        )
        params = {p["Name"]: p["Value"] for p in execution.pipeline_parameters}
        return self.json_object(
            ARTIFACTS_BUCKET, params["DataManifestUri"].removeprefix(f"s3://{ARTIFACTS_BUCKET}/")
        )


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def s3_event(key: str, version_id: str | None, size: int, event_id: str = "evt-1") -> dict:
    """An Object Created event for `key` (URL-encoded as S3 sends it) in the sample's shape."""
    from urllib.parse import quote_plus

    event = load_event("s3_object_created.json")
    event["id"] = event_id
    event["detail"]["bucket"]["name"] = DATA_BUCKET
    event["resources"] = [f"arn:aws:s3:::{DATA_BUCKET}"]
    obj = event["detail"]["object"]
    obj.update({"key": quote_plus(key, safe="/"), "size": size})
    if version_id is None:
        obj.pop("version-id", None)
    else:
        obj["version-id"] = version_id
    return event


def set_execution_status(execution_arn: str, status: str) -> None:
    """moto marks executions Succeeded at once; tests of in-flight runs need Executing."""
    from moto.sagemaker.models import sagemaker_backends

    pipelines = sagemaker_backends[ACCOUNT][REGION].pipelines
    for pipeline in pipelines.values():
        if execution_arn in pipeline.pipeline_executions:
            pipeline.pipeline_executions[execution_arn].pipeline_execution_status = status
            return
    raise KeyError(execution_arn)


def _reset_caches() -> None:
    from functions.data_arrival import logic as arrival_logic
    from functions.shared import clients, settings

    clients.client.cache_clear()
    settings.settings_for.cache_clear()
    arrival_logic._idempotent.cache_clear()


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        _reset_caches()
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (DATA_BUCKET, ARTIFACTS_BUCKET):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        sagemaker.create_pipeline(
            PipelineName=PIPELINE,
            RoleArn=PIPELINE_ROLE_ARN,
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": []}),
        )
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name=f"{PREFIX}-notifications")["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        yield Aws(s3=s3, ddb=ddb, sagemaker=sagemaker, sns=sns, sqs=sqs, queue_url=queue_url)
        _reset_caches()


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    """What the functions log: their handler resolves sys.stdout per write, so capsys sees it."""
    return capsys


def log_records(capture: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capture.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def handler(name: str) -> Any:
    """The function's handler; the `aws` fixture clears its cached settings and clients, so its
    first invocation in a test is a cold start in that test's environment."""
    return importlib.import_module(f"functions.{name}.handler").lambda_handler
