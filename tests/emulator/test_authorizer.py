"""The runtime enforces IAM per principal: a grant missing from the template fails locally with
AWS's error, a topic policy without CloudWatch's grant stops alarm notifications, the bucket
policies' SSL-only statement applies, and the grants calls exercised are recorded.

One runtime of this module deploys a copy of the synthesized template with two grants removed:
the deploy role's sagemaker:CreateEndpointConfig and the topic policy's CloudWatch publish."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import register_package

from emulator.bus import EXACTLY_ONCE
from emulator.runtime import LocalRuntime, SynthesizedStack

ACCOUNT = "123456789012"


def _without_grants(template: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(template)
    removed = []
    for resource in out["Resources"].values():
        props = resource.get("Properties", {})
        statements = props.get("PolicyDocument", {}).get("Statement", [])
        if resource["Type"] == "AWS::IAM::Policy":
            keep = [s for s in statements if s.get("Action") != "sagemaker:CreateEndpointConfig"]
        elif resource["Type"] == "AWS::SNS::TopicPolicy":
            keep = [s for s in statements if s.get("Sid") != "AlarmsPublish"]
        else:
            continue
        removed += [s for s in statements if s not in keep]
        props["PolicyDocument"]["Statement"] = keep
    assert len(removed) == 2, removed
    return out


@pytest.fixture(scope="module")
def restricted(synthesize, tmp_path_factory) -> Iterator[LocalRuntime]:
    dev = synthesize("dev")
    stack = SynthesizedStack(dev.name, _without_grants(dev.raw), dev.outdir)
    scratch = tmp_path_factory.mktemp("restricted")
    with LocalRuntime(
        stack=stack, scratch_dir=scratch, time_scale=0.002, delivery=EXACTLY_ONCE
    ) as started:
        yield started


def _deploy_role_client(runtime: LocalRuntime, service: str) -> Any:
    """A client signing as the deploy function's role, with the credentials its worker gets."""
    name = runtime.deployment.of_type("AWS::Lambda::Function")
    deploy = next(n for n in name.values() if n.endswith("-deploy"))
    role = runtime.cloud.client("lambda").get_function_configuration(FunctionName=deploy)["Role"]
    return runtime.cloud.client(service, runtime.cloud.assume_role(role, deploy)), role, deploy


def test_a_removed_grant_fails_with_aws_access_denied(restricted):
    sagemaker, role, session = _deploy_role_client(restricted, "sagemaker")
    config = f"{restricted.endpoint_name}-v1"
    with pytest.raises(ClientError) as caught:
        sagemaker.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[
                {"VariantName": "blue", "ModelName": f"{restricted.endpoint_name}-m1"}
            ],
        )
    error = caught.value.response["Error"]
    role_name = role.rsplit("/", 1)[-1]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{session} is not authorized to "
        "perform: sagemaker:CreateEndpointConfig on resource: "
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/{config} "
        "because no identity-based policy allows the sagemaker:CreateEndpointConfig action"
    )
    # Its other grants still hold: DescribeEndpoint is authorized and answers as SageMaker.
    with pytest.raises(ClientError) as missing:
        sagemaker.describe_endpoint(EndpointName=restricted.endpoint_name)
    assert missing.value.response["Error"]["Code"] == "ValidationException"


def test_the_deploy_function_fails_on_the_removed_grant(restricted):
    """An approval reaches the deploy function, whose CreateEndpointConfig is refused."""
    sagemaker = restricted.cloud.client("sagemaker")
    arn = register_package(restricted)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert restricted.settle(60)
    errors = [
        e.error or ""
        for e in restricted.bus.timeline
        if e.target == f"{restricted.stack.name}-deploy" and e.outcome != "ok"
    ]
    refused = [e for e in errors if "AccessDeniedException" in e]
    assert refused, errors
    assert (
        "is not authorized to perform: sagemaker:CreateEndpointConfig on resource: "
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/{restricted.endpoint_name}-"
    ) in refused[0]
    # Nothing was created past the refused call.
    configs = sagemaker.list_endpoint_configs()["EndpointConfigs"]
    assert not [c for c in configs if c["EndpointConfigName"].startswith(restricted.endpoint_name)]


def test_a_grant_put_on_the_role_is_seen_at_once(restricted):
    sagemaker, role, _ = _deploy_role_client(restricted, "sagemaker")
    iam = restricted.cloud.client("iam")
    statement = {
        "Effect": "Allow",
        "Action": "sagemaker:CreateEndpointConfig",
        "Resource": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/granted-*",
    }
    name = role.rsplit("/", 1)[-1]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="late-grant",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    try:
        variant = {"VariantName": "blue", "ModelName": "no-such-model"}
        try:
            sagemaker.create_endpoint_config(
                EndpointConfigName="granted-1", ProductionVariants=[variant]
            )
        except ClientError as exc:  # authorized; SageMaker may still refuse the content
            assert exc.response["Error"]["Code"] != "AccessDeniedException"
    finally:
        iam.delete_role_policy(RoleName=name, PolicyName="late-grant")
    with pytest.raises(ClientError, match="AccessDeniedException"):
        sagemaker.create_endpoint_config(
            EndpointConfigName="granted-2", ProductionVariants=[variant]
        )


def test_an_alarm_notification_the_topic_policy_refuses_is_not_delivered(restricted):
    template = restricted.template["Resources"]
    logical = next(
        k
        for k, r in template.items()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("AlarmActions")
    )
    name = restricted.deployment.physical_ids[logical]
    alarm = restricted.alarms.alarms()[name]
    topic = alarm["AlarmActions"][0]
    sqs = restricted.cloud.client("sqs")
    queue = sqs.create_queue(QueueName="alarm-watch")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    restricted.cloud.client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"]
    )
    breaching = float(alarm["Threshold"]) + 1000.0
    if alarm["ComparisonOperator"].startswith("Less"):
        breaching = float(alarm["Threshold"]) - 1000.0
    now = dt.datetime.now(dt.UTC)
    for i in range(int(alarm["EvaluationPeriods"])):
        stamp = now - dt.timedelta(seconds=int(alarm["Period"]) * i)
        restricted.metrics.put(
            alarm["Namespace"],
            {
                "MetricName": alarm["MetricName"],
                "Dimensions": alarm.get("Dimensions", []),
                "Timestamp": stamp,
                "Value": breaching,
            },
        )
    events = restricted.alarms.evaluate(now)
    assert any(e["detail"]["alarmName"] == name for e in events)
    history = restricted.alarms.history
    failures = [h for h in history if h.get("type") == "Action" and h["alarm"] == name]
    assert failures
    assert failures[-1]["summary"].startswith(f"Failed to execute action {topic}.")
    assert (
        "cloudwatch.amazonaws.com is not authorized to perform: SNS:Publish"
        in (failures[-1]["summary"])
    )
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)


def test_the_unmodified_topic_policy_lets_the_alarm_publish(dev_template, restricted):
    from emulator.authorizer.reference import Check
    from emulator.intrinsics import Resolver

    resolver = Resolver(dev_template, account=ACCOUNT, region="us-east-1")
    policy = next(
        r["Properties"]["PolicyDocument"]
        for r in dev_template["Resources"].values()
        if r["Type"] == "AWS::SNS::TopicPolicy"
    )
    document = resolver.resolve({k: v for k, v in policy.items()})
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:mlops-dev-notifications"
    document["Statement"] = [{**s, "Resource": topic} for s in document["Statement"]]
    decision = restricted.authorizer.evaluate_service(
        "cloudwatch.amazonaws.com",
        Check("sns:Publish", topic),
        document,
        {
            "aws:sourceaccount": ACCOUNT,
            "aws:sourcearn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:mlops-dev-drift-score",
        },
    )
    assert decision.allowed


def test_plain_http_is_denied_by_the_bucket_policy(restricted):
    s3 = restricted.cloud.client("s3")
    bucket = restricted.data_bucket
    s3.put_object(Bucket=bucket, Key="incoming/ssl.csv", Body=b"a\n")
    restricted.authorizer.secure_transport = False
    try:
        with pytest.raises(ClientError) as caught:
            s3.get_object(Bucket=bucket, Key="incoming/ssl.csv")
    finally:
        restricted.authorizer.secure_transport = True
    error = caught.value.response["Error"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Code"] == "AccessDenied"
    assert error["Message"].endswith(
        f'on resource: "arn:aws:s3:::{bucket}/incoming/ssl.csv" with an explicit deny in a '
        "resource-based policy"
    )
    assert s3.get_object(Bucket=bucket, Key="incoming/ssl.csv")["Body"].read() == b"a\n"


def test_unused_grants_drop_what_a_call_exercised(restricted):
    sagemaker, role, _ = _deploy_role_client(restricted, "sagemaker")
    name = role.rsplit("/", 1)[-1]
    endpoint = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{restricted.endpoint_name}"
    entry = ("sagemaker:DescribeEndpoint", endpoint)
    with pytest.raises(ClientError):
        sagemaker.describe_endpoint(EndpointName=restricted.endpoint_name)
    left = {(e["action"], e["resource"]) for e in restricted.unused_grants().get(name, [])}
    assert entry not in left
    # The failed deploy never got as far as pointing the endpoint at a config.
    assert ("sagemaker:UpdateEndpoint", endpoint) in left


def test_dead_letters_are_sent_only_for_the_rules_the_queue_policy_names(restricted):
    rules = [r for r in restricted.bus.rules() if any(t.dead_letter_arn for t in r.targets)]
    assert rules
    queue = next(t.dead_letter_arn for t in rules[0].targets if t.dead_letter_arn)
    assert restricted.bus.dead_letter_refusal(queue, rules[0].arn) is None
    stranger = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/not-in-the-policy"
    refusal = restricted.bus.dead_letter_refusal(queue, stranger)
    assert refusal == (
        f"User: events.amazonaws.com is not authorized to perform: sqs:SendMessage on resource: "
        f"{queue} because no resource-based policy allows the sqs:SendMessage action"
    )
