"""The loop's arrows through the real handlers: a bad upload, a Studio-style approval, a drift
alarm, and a handler that keeps failing."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

from conftest import register_package, unique, wait_for


def _entries(runtime, target: str, event_id: str | None = None) -> list:
    return [
        e
        for e in runtime.bus.timeline
        if e.target == target and (event_id is None or e.event_id == event_id)
    ]


def test_a_bad_upload_ends_in_quarantine(runtime):
    key = f"incoming/{unique('bad')}.csv"
    runtime.cloud.client("s3").put_object(
        Bucket=runtime.data_bucket, Key=key, Body=b"wrong,header\n1,2\n"
    )
    assert runtime.settle(60)
    reason = json.loads(
        runtime.cloud.client("s3")
        .get_object(Bucket=runtime.data_bucket, Key=f"quarantine/{key}.reason.json")["Body"]
        .read()
    )
    assert reason["reason"] == "header_mismatch"


def test_a_studio_style_approval_reaches_deploy(runtime):
    sagemaker = runtime.cloud.client("sagemaker")
    arn = register_package(runtime)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert runtime.settle(60)
    deploys = [
        e.result for e in _entries(runtime, "mlops-dev-deploy") if isinstance(e.result, dict)
    ]
    assert any(r.get("model_package_arn") == arn for r in deploys), deploys
    kept = sagemaker.describe_model_package(ModelPackageName=arn)
    assert kept["CustomerMetadataProperties"]["MetricName"] == "roc_auc"
    assert kept["ModelApprovalStatus"] == "Approved"
    approval = [
        e
        for e in runtime.bus.delivered.values()
        if e["detail-type"] == "SageMaker Model Package State Change"
        and e["detail"].get("UpdatedModelPackageFields")
    ][-1]
    assert approval["detail"]["UpdatedModelPackageFields"] == ["ModelApprovalStatus"]
    assert runtime.endpoints.wait(runtime.endpoint_name, 60) in ("InService", "Failed")


def test_a_drift_metric_raises_the_alarm_notifies_and_reaches_drift_retrain(runtime):
    sns, sqs = runtime.cloud.client("sns"), runtime.cloud.client("sqs")
    topic = runtime.function_env("drift_retrain")["TOPIC_ARN"]
    queue = sqs.create_queue(QueueName=unique("alarm-mail"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    now = dt.datetime.now(dt.UTC)
    runtime.cloud.client("cloudwatch").put_metric_data(
        Namespace="mlops-dev/Drift",
        MetricData=[
            {
                "MetricName": "drift_score",
                "Value": 0.6,
                "Timestamp": now,
                "Dimensions": [{"Name": "EndpointName", "Value": runtime.endpoint_name}],
            }
        ],
    )
    events = runtime.alarms.evaluate(now)
    states = {e["detail"]["alarmName"]: e["detail"]["state"]["value"] for e in events}
    assert states["mlops-dev-drift-score"] == "ALARM"
    assert runtime.alarms.alarm_state("mlops-dev-drift-score") == "ALARM"
    assert "mlops-dev-drift-score" not in {
        e["detail"]["alarmName"] for e in runtime.alarms.evaluate(now)
    }  # no transition, no event
    assert runtime.settle(60)
    assert [e for e in _entries(runtime, "mlops-dev-drift-retrain") if e.outcome == "ok"]
    described = runtime.cloud.client("cloudwatch").describe_alarms(
        AlarmNames=["mlops-dev-drift-score"]
    )
    assert described["MetricAlarms"][0]["StateValue"] == "ALARM"
    messages = wait_for(
        lambda: sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"),
        10,
        "the alarm notification",
    )
    notices = [_json(json.loads(m["Body"])["Message"]) for m in messages]
    alarm = next(n for n in notices if n.get("AlarmName") == "mlops-dev-drift-score")
    assert (alarm["NewStateValue"], alarm["OldStateValue"]) == ("ALARM", "INSUFFICIENT_DATA")
    assert alarm["Trigger"]["MetricName"] == "drift_score"


def test_a_failing_handler_is_retried_then_dead_lettered(runtime):
    lam = runtime.cloud.client("lambda")
    conf = lam.get_function_configuration(FunctionName="mlops-dev-drift-retrain")
    variables = conf["Environment"]["Variables"]
    lam.update_function_configuration(
        FunctionName="mlops-dev-drift-retrain",
        Environment={"Variables": {**variables, "STATE_TABLE": "no-such-table"}},
    )
    try:
        name = json.loads(variables.get("DRIFT_ALARM_NAMES", '["mlops-dev-drift-age"]'))[0]
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "account": runtime.cloud.account,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": runtime.cloud.region,
            "resources": [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"],
            "detail": {
                "alarmName": name,
                "state": {"value": "ALARM", "reason": "test"},
                "previousState": {"value": "OK", "reason": "test"},
            },
        }
        runtime.bus.put(event)
        assert runtime.settle(60)
    finally:
        lam.update_function_configuration(
            FunctionName="mlops-dev-drift-retrain", Environment={"Variables": variables}
        )
    (entry,) = _entries(runtime, "mlops-dev-drift-retrain", event["id"])
    assert entry.outcome == "dead-lettered" and entry.attempts == 3
    sqs = runtime.cloud.client("sqs")
    url = sqs.get_queue_url(QueueName="mlops-dev-failed-events")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    records = [json.loads(m["Body"]) for m in messages]
    record = next(r for r in records if r.get("requestPayload", {}).get("id") == event["id"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3


def _json(text: str) -> dict:
    try:
        return json.loads(text)
    except ValueError:
        return {}


def test_at_least_once_delivers_every_event_twice_and_out_of_order(runtime):
    from emulator.bus import Delivery, EventBus

    bus = EventBus(runtime.cloud, runtime.lambdas, Delivery(copies=2, reorder_window=0.2, seed=7))
    bus.start()
    try:
        sent = [
            {
                "version": "0",
                "id": f"00000000-0000-4000-8000-{i:012d}",
                "detail-type": "Probe",
                "source": "local.test",
                "account": runtime.cloud.account,
                "time": "2026-12-01T00:00:00Z",
                "region": runtime.cloud.region,
                "resources": [],
                "detail": {"n": i},
            }
            for i in range(20)
        ]
        for event in sent:
            bus.put(event)
        assert bus.drain(30)
        seen = [e.event_id for e in bus.timeline]
        assert sorted(seen) == sorted([e["id"] for e in sent] * 2)
        first_seen = list(dict.fromkeys(seen))
        assert first_seen != [e["id"] for e in sent]  # some event overtook an earlier one
    finally:
        bus.stop()


def test_a_duplicate_arrival_is_handled_once(runtime):
    from emulator.bus import Delivery, EventBus

    key = f"incoming/{unique('twice')}.csv"
    bus = EventBus(runtime.cloud, runtime.lambdas, Delivery(copies=2, reorder_window=0.05, seed=1))
    bus.start()
    try:
        runtime.cloud.client("s3").put_object(
            Bucket=runtime.data_bucket, Key=key, Body=b"only,a,header\n"
        )
        assert runtime.settle(60)
        event = next(
            e
            for e in runtime.bus.delivered.values()
            if e["detail-type"] == "Object Created" and e["detail"]["object"]["key"] == key
        )
        bus.put(event)
        assert bus.drain(60)
    finally:
        bus.stop()
    results = [e.result for e in bus.timeline if e.target == "mlops-dev-data-arrival"]
    assert len(results) == 2 and all(e.outcome == "ok" for e in bus.timeline if e.target)
    # Three deliveries, one effect: one quarantined copy, one delete marker.
    s3 = runtime.cloud.client("s3")
    copies = s3.list_object_versions(Bucket=runtime.data_bucket, Prefix=f"quarantine/{key}")
    assert len([v for v in copies["Versions"] if v["Key"] == f"quarantine/{key}"]) == 1
    markers = s3.list_object_versions(Bucket=runtime.data_bucket, Prefix=key).get(
        "DeleteMarkers", []
    )
    assert len(markers) == 1
