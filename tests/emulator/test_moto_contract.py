"""What the local runtime relies on in moto, and each gap it fills, one test per behaviour.

moto is pinned to a compatible range, not one version. When an upgrade changes one of these, the
test names what changed: a reliance that broke must be fixed, a gap that closed means the
runtime's own code for it can go.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

REGION = "us-east-1"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def client(service: str):
    return boto3.client(service, region_name=REGION)


def _stack(template: dict) -> dict:
    cfn = client("cloudformation")
    cfn.create_stack(StackName="contract", TemplateBody=json.dumps(template))
    return cfn.describe_stacks(StackName="contract")["Stacks"][0]


# -- relied on --------------------------------------------------------------------------------


def test_the_wsgi_application_the_front_wraps_is_importable():
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    assert callable(DomainDispatcherApplication(create_backend_app))
    assert MotoRequestHandler is not None


def test_cloudformation_creates_updates_and_reports_attributes_as_outputs(aws):
    queue = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "contract-q"}}
    template = {
        "Resources": {"Q": queue},
        "Outputs": {"QArn": {"Value": {"Fn::GetAtt": ["Q", "Arn"]}}},
    }
    stack = _stack(template)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"][0]["OutputValue"].endswith(":contract-q")
    template["Resources"]["T"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}}
    client("cloudformation").update_stack(StackName="contract", TemplateBody=json.dumps(template))
    resources = client("cloudformation").describe_stack_resources(StackName="contract")
    assert {r["LogicalResourceId"] for r in resources["StackResources"]} == {"Q", "T"}


def test_cloudformation_lambda_functions_keep_their_configuration(aws):
    import io
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def main(event, context):\n    return event\n")
    client("s3").create_bucket(Bucket="code")
    client("s3").put_object(Bucket="code", Key="fn.zip", Body=code.getvalue())
    role = client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    _stack(
        {
            "Resources": {
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "FunctionName": "contract-fn",
                        "Handler": "handler.main",
                        "Runtime": "python3.12",
                        "Role": role,
                        "Code": {"S3Bucket": "code", "S3Key": "fn.zip"},
                        "Timeout": 7,
                        "MemorySize": 256,
                        "ReservedConcurrentExecutions": 2,
                        "Environment": {"Variables": {"A": "1"}},
                    },
                }
            }
        }
    )
    got = client("lambda").get_function(FunctionName="contract-fn")
    conf = got["Configuration"]
    assert (conf["Timeout"], conf["MemorySize"], conf["Handler"]) == (7, 256, "handler.main")
    assert conf["Environment"]["Variables"] == {"A": "1"}
    assert got["Concurrency"]["ReservedConcurrentExecutions"] == 2


def test_assumed_role_credentials_are_distinct_and_named_by_sts(aws):
    role = client("iam").create_role(RoleName="worker", AssumeRolePolicyDocument="{}")["Role"]
    creds = client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="fn")["Credentials"]
    as_role = boto3.client(
        "sts",
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    assert as_role.get_caller_identity()["Arn"].endswith(":assumed-role/worker/fn")


def test_the_event_pattern_matcher_knows_the_stack_rules_operators():
    from moto.events.models import EventPattern

    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": "data"}, "object": {"key": "incoming/a.csv"}},
    }
    pattern = {
        "source": ["aws.s3"],
        "detail": {"bucket": {"name": ["data"]}, "object": {"key": [{"prefix": "incoming/"}]}},
    }
    assert EventPattern.load(json.dumps(pattern)).matches_event(event)
    pattern["detail"]["object"]["key"] = [{"prefix": "quarantine/"}]
    assert not EventPattern.load(json.dumps(pattern)).matches_event(event)


# -- gaps the runtime fills --------------------------------------------------------------------


def test_cloudformation_lacks_the_types_the_runtime_creates():
    from moto.cloudformation.parsing import get_model_map

    from emulator.resource_types import RUNTIME_TYPES

    moto_types = set(get_model_map())
    lacking = set(RUNTIME_TYPES) - {"AWS::KMS::Key"}  # moto has it, but broken: below
    assert not lacking & moto_types, lacking & moto_types


def test_cloudformation_kms_keys_with_tags_fail(aws):
    key = {
        "Type": "AWS::KMS::Key",
        "Properties": {"Tags": [{"Key": "stage", "Value": "dev"}], "KeyPolicy": {}},
    }
    with pytest.raises(Exception):  # noqa: B017 - moto answers with a bare 500
        _stack({"Resources": {"K": key}})


def test_cloudformation_buckets_lose_versioning_and_eventbridge(aws):
    bucket = {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            "BucketName": "contract-bucket",
            "VersioningConfiguration": {"Status": "Enabled"},
            "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
        },
    }
    _stack({"Resources": {"B": bucket}})
    assert "Status" not in client("s3").get_bucket_versioning(Bucket="contract-bucket")


def test_bucket_notification_reads_omit_eventbridge(aws):
    s3 = client("s3")
    s3.create_bucket(Bucket="contract-b")
    s3.put_bucket_notification_configuration(
        Bucket="contract-b", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(
        Bucket="contract-b"
    )


def test_bucket_policy_denies_ignore_their_conditions(aws):
    s3 = client("s3")
    s3.create_bucket(Bucket="contract-b")
    ssl_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::contract-b", "arn:aws:s3:::contract-b/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket="contract-b", Policy=json.dumps(ssl_only))
    with pytest.raises(s3.exceptions.ClientError) as denied:
        s3.put_object(Bucket="contract-b", Key="k", Body=b"x")
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_model_package_updates_reset_what_they_do_not_repeat(aws):
    sm = client("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="g")
    arn = sm.create_model_package(
        ModelPackageGroupName="g",
        ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties={"Lineage": "x"},
    )["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    described = sm.describe_model_package(ModelPackageName=arn)
    assert "CustomerMetadataProperties" not in described
    sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"A": "b"})
    assert "ModelApprovalStatus" not in sm.describe_model_package(ModelPackageName=arn)


def test_pipeline_executions_succeed_without_running(aws):
    sm = client("sagemaker")
    sm.create_pipeline(
        PipelineName="p",
        RoleArn="arn:aws:iam::123456789012:role/r",
        PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
    )
    arn = sm.start_pipeline_execution(PipelineName="p")["PipelineExecutionArn"]
    status = sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
    assert status == "Succeeded"


def test_update_endpoint_and_test_event_pattern_are_missing(aws):
    sm = client("sagemaker")
    with pytest.raises(Exception):  # noqa: B017 - not implemented: a 500 or NotImplementedError
        sm.update_endpoint(EndpointName="e", EndpointConfigName="c")
    answer = client("events").test_event_pattern(
        EventPattern=json.dumps({"source": ["a"]}),
        Event=json.dumps(
            {
                "id": "1",
                "account": "123456789012",
                "source": "a",
                "time": "2026-01-01T00:00:00Z",
                "region": REGION,
                "detail-type": "x",
                "resources": [],
                "detail": {},
            }
        ),
    )
    assert "Result" not in answer


def test_new_alarms_start_in_ok(aws):
    cloudwatch = client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="a",
        Namespace="N",
        MetricName="m",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["a"])["MetricAlarms"]
    assert alarm["StateValue"] == "OK"  # CloudWatch's is INSUFFICIENT_DATA: the provider fixes it
