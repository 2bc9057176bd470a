"""The runtime core against the real dev template: deploy, S3 -> bus -> real handlers -> hooks."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from moto.s3.models import s3_backends

from emulator.alarms import AlarmEvaluator
from emulator.bus import EventBus
from emulator.deployer import Deployment, deploy
from emulator.server import LocalCloud

HEADER = (
    "tenure_months,monthly_charges,support_calls,age,data_usage_gb,contract,payment_method,"
    "region,churned"
)
ROW = "12,70.5,1,40,3.2,monthly,card,north,0"


@dataclass
class Runtime:
    cloud: LocalCloud
    deployment: Deployment
    bus: EventBus
    starts: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    endpoint_changes: list[tuple[str, str, Any]] = field(default_factory=list)

    @property
    def data_bucket(self) -> str:
        return self.deployment.event_buckets[0]

    def entries(self, target: str) -> list[Any]:
        return [e for e in self.bus.timeline if e.target == target]


@pytest.fixture(scope="module")
def rt(dev_template: dict[str, Any]) -> Iterator[Runtime]:
    with LocalCloud() as cloud:
        deployment = deploy(dev_template, cloud)
        bus = EventBus(cloud, deployment).start()
        runtime = Runtime(cloud, deployment, bus)
        cloud.on_start_pipeline_execution = lambda *args: runtime.starts.append(args)
        cloud.on_endpoint_change = lambda *args: runtime.endpoint_changes.append(args)
        cloud.emit = bus.put
        yield runtime
        bus.stop()


def test_deploy_creates_what_moto_supports(rt: Runtime) -> None:
    assert rt.deployment.unsupported == []
    s3 = rt.cloud.client("s3")
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert rt.data_bucket in names and len(names) == 3
    assert s3.get_bucket_versioning(Bucket=rt.data_bucket)["Status"] == "Enabled"
    # moto's GetBucketNotificationConfiguration omits EventBridge; its backend has it.
    bucket = s3_backends["123456789012"]["aws"].get_bucket(rt.data_bucket)
    assert bucket.notification_configuration.event_bridge is not None
    table = rt.cloud.client("dynamodb").describe_time_to_live(TableName="mlops-dev-state")
    assert table["TimeToLiveDescription"]["AttributeName"] == "expiration"
    pipelines = rt.cloud.client("sagemaker").list_pipelines()["PipelineSummaries"]
    assert {p["PipelineName"] for p in pipelines} == {"mlops-dev-training", "mlops-dev-monitoring"}
    alarms = rt.cloud.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert "mlops-dev-drift-score" in {a["AlarmName"] for a in alarms}
    assert set(rt.deployment.functions) == {
        "mlops-dev-data-arrival",
        "mlops-dev-pipeline-events",
        "mlops-dev-deploy",
        "mlops-dev-drift-retrain",
    }
    assert rt.deployment.rule("mlops-dev-monitoring-schedule").schedule == "rate(1 hour)"


def test_upload_starts_training_through_the_real_handler(rt: Runtime) -> None:
    body = "\n".join([HEADER] + [ROW] * 20) + "\n"
    rt.cloud.client("s3").put_object(Bucket=rt.data_bucket, Key="incoming/a.csv", Body=body)
    assert rt.bus.drain(30)
    (entry,) = rt.entries("mlops-dev-data-arrival")
    assert entry.outcome == "ok", entry
    assert len(rt.starts) == 1
    pipeline, execution_arn, parameters = rt.starts[0]
    assert pipeline == "mlops-dev-training"
    assert parameters["TriggerEventType"] == "s3:ObjectCreated"
    assert parameters["DataManifestUri"].startswith("s3://mlops-dev-artifacts-")
    status = rt.cloud.client("sagemaker").describe_pipeline_execution(
        PipelineExecutionArn=execution_arn
    )["PipelineExecutionStatus"]
    assert status == "Executing"


def test_same_event_three_times_starts_one_execution(rt: Runtime) -> None:
    first = next(e for e in rt.bus.timeline if e.target == "mlops-dev-data-arrival")
    before = len(rt.starts)
    # Re-deliver the recorded event: at-least-once delivery must not start a second run.
    event = rt.bus.delivered[first.event_id]
    for _ in range(3):
        rt.bus.put(event)
    assert rt.bus.drain(30)
    assert len(rt.starts) == before


def test_bad_file_ends_in_quarantine(rt: Runtime) -> None:
    rt.cloud.client("s3").put_object(
        Bucket=rt.data_bucket, Key="incoming/bad.csv", Body="wrong,header\n1,2\n"
    )
    assert rt.bus.drain(30)
    keys = [
        o["Key"]
        for o in rt.cloud.client("s3").list_objects_v2(Bucket=rt.data_bucket, Prefix="quarantine/")[
            "Contents"
        ]
    ]
    assert "quarantine/incoming/bad.csv" in keys


def test_failing_handler_goes_to_the_failure_queue_after_retries(rt: Runtime) -> None:
    spec = rt.deployment.functions["mlops-dev-drift-retrain"]
    saved = spec.environment["STATE_TABLE"]
    spec.environment["STATE_TABLE"] = "no-such-table"  # every DynamoDB call fails
    try:
        event = _alarm_event("mlops-dev-drift-age")
        rt.bus.put(event)
        assert rt.bus.drain(60)
    finally:
        spec.environment["STATE_TABLE"] = saved
    entry = [e for e in rt.entries("mlops-dev-drift-retrain") if e.event_id == event["id"]][-1]
    assert entry.outcome == "dead-lettered" and entry.attempts == 3
    sqs = rt.cloud.client("sqs")
    url = next(iter(rt.deployment.queues.values()))
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    records = [json.loads(m["Body"]) for m in messages]
    record = next(r for r in records if r.get("requestPayload", {}).get("id") == event["id"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3


def test_studio_style_approval_reaches_deploy_and_the_endpoint_hook(rt: Runtime) -> None:
    sagemaker = rt.cloud.client("sagemaker")
    arn = sagemaker.create_model_package(
        ModelPackageGroupName="mlops-dev-models",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "sklearn:1.2", "ModelDataUrl": "s3://x/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        CustomerMetadataProperties={"MetricName": "roc_auc", "MetricValue": "0.9"},
    )["ModelPackageArn"]
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert rt.bus.drain(60)
    deploys = [e for e in rt.entries("mlops-dev-deploy") if e.outcome == "ok"]
    assert deploys and deploys[-1].result["model_package_arn"] == arn
    assert rt.endpoint_changes and rt.endpoint_changes[-1][0] == "mlops-dev-endpoint"
    kept = sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]
    assert kept["MetricName"] == "roc_auc"


def test_drift_metric_raises_the_alarm_and_reaches_drift_retrain(rt: Runtime) -> None:
    evaluator = AlarmEvaluator(rt.cloud, rt.deployment.alarms, rt.bus.put)
    now = dt.datetime.now(dt.UTC)
    rt.cloud.client("cloudwatch").put_metric_data(
        Namespace="mlops-dev/Drift",
        MetricData=[
            {
                "MetricName": "drift_score",
                "Value": 0.6,
                "Timestamp": now,
                "Dimensions": [{"Name": "EndpointName", "Value": "mlops-dev-endpoint"}],
            }
        ],
    )
    events = evaluator.evaluate(now)
    names = {e["detail"]["alarmName"]: e["detail"]["state"]["value"] for e in events}
    assert names["mlops-dev-drift-score"] == "ALARM"
    assert names["mlops-dev-drift-age"] == "OK"
    assert evaluator.alarm_state("mlops-dev-drift-score") == "ALARM"
    assert evaluator.evaluate(now) == []  # no transition, no event
    assert rt.bus.drain(60)
    retrains = [e for e in rt.entries("mlops-dev-drift-retrain") if e.outcome == "ok"]
    assert retrains, rt.bus.timeline[-3:]
    moto_alarm = rt.cloud.client("cloudwatch").describe_alarms(
        AlarmNames=["mlops-dev-drift-score"]
    )["MetricAlarms"][0]
    assert moto_alarm["StateValue"] == "ALARM"


def _alarm_event(name: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": "us-east-1",
        "resources": [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"],
        "detail": {
            "alarmName": name,
            "state": {"value": "ALARM", "reason": "test"},
            "previousState": {"value": "OK", "reason": "test"},
        },
    }
