"""The synthesized template deploys through moto's CloudFormation plus the runtime's own types, and
what it made is what the user's own tools see."""

from __future__ import annotations

import json

import pytest
from conftest import aws_cli

from emulator.cloud import LocalCloud
from emulator.deployer import DeployError, deploy


def test_every_resource_is_deployed_or_ignored_with_a_reason(runtime, dev_template):
    deployment = runtime.deployment
    made = set(deployment.by_moto) | set(deployment.by_runtime)
    ignored = {logical for logical, _ in deployment.ignored}
    assert made | ignored == set(dev_template["Resources"])
    assert {dev_template["Resources"][i]["Type"] for i in ignored} <= {"AWS::CDK::Metadata"}
    kinds = {dev_template["Resources"][i]["Type"] for i in deployment.by_moto}
    # What moto's CloudFormation supports goes through it, not around it.
    assert {
        "AWS::S3::Bucket",
        "AWS::Lambda::Function",
        "AWS::Events::Rule",
        "AWS::IAM::Role",
    } <= kinds


def test_the_aws_cli_lists_the_templates_functions_and_rules(runtime, dev_template):
    resources = dev_template["Resources"].values()
    template_functions = {
        r["Properties"]["FunctionName"] for r in resources if r["Type"] == "AWS::Lambda::Function"
    }
    template_rules = {
        r["Properties"]["Name"] for r in resources if r["Type"] == "AWS::Events::Rule"
    }
    functions = aws_cli(runtime, "lambda", "list-functions")["Functions"]
    assert {f["FunctionName"] for f in functions} == template_functions
    rules = aws_cli(runtime, "events", "list-rules")["Rules"]
    assert {r["Name"] for r in rules} == template_rules
    approval = next(r for r in rules if r["Name"].endswith("-model-approval"))
    assert json.loads(approval["EventPattern"])["detail-type"] == [
        "SageMaker Model Package State Change"
    ]
    targets = aws_cli(runtime, "events", "list-targets-by-rule", "--rule", approval["Name"])
    assert targets["Targets"][0]["Arn"].endswith(":function:mlops-dev-deploy")
    assert targets["Targets"][0]["DeadLetterConfig"]["Arn"].endswith(":mlops-dev-failed-events")


def test_physical_names_come_from_the_template_and_cloudformation(runtime, dev_template):
    stack = aws_cli(
        runtime, "cloudformation", "describe-stack-resources", "--stack-name", "mlops-dev"
    )
    physical = {
        r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in stack["StackResources"]
    }
    functions = {
        logical: r
        for logical, r in dev_template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function"
    }
    for logical in functions:
        role_logical = functions[logical]["Properties"]["Role"]["Fn::GetAtt"][0]
        conf = runtime.cloud.client("lambda").get_function_configuration(
            FunctionName=physical[logical]
        )
        # The role has no name in the template: CloudFormation names it after the stack.
        assert conf["Role"].endswith(f":role/{physical[role_logical]}")
        assert physical[role_logical].startswith(f"mlops-dev-{role_logical}")


def test_buckets_keep_the_properties_moto_would_drop(runtime):
    s3 = runtime.cloud.client("s3")
    assert s3.get_bucket_versioning(Bucket=runtime.data_bucket)["Status"] == "Enabled"
    notification = s3.get_bucket_notification_configuration(Bucket=runtime.data_bucket)
    assert "EventBridgeConfiguration" in notification
    assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(
        Bucket=runtime.artifacts_bucket
    )
    policy = json.loads(s3.get_bucket_policy(Bucket=runtime.data_bucket)["Policy"])
    denies = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert denies and denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    block = s3.get_public_access_block(Bucket=runtime.data_bucket)
    assert all(block["PublicAccessBlockConfiguration"].values())


def test_the_runtimes_own_types_exist_through_their_apis(runtime):
    sm = runtime.cloud.client("sagemaker")
    names = {p["PipelineName"] for p in sm.list_pipelines()["PipelineSummaries"]}
    assert names == {"mlops-dev-training", "mlops-dev-monitoring"}
    assert sm.describe_model_package_group(ModelPackageGroupName=runtime.model_group)
    alarms = runtime.cloud.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert "mlops-dev-drift-score" in {a["AlarmName"] for a in alarms}
    invoke_config = runtime.cloud.client("lambda").get_function_event_invoke_config(
        FunctionName="mlops-dev-deploy"
    )
    assert invoke_config["MaximumRetryAttempts"] == 2
    assert invoke_config["DestinationConfig"]["OnFailure"]["Destination"].endswith(
        ":mlops-dev-failed-events"
    )
    key = runtime.cloud.client("kms").describe_key(KeyId="alias/mlops-dev")["KeyMetadata"]
    assert key["KeyState"] == "Enabled"


def test_a_type_nobody_supports_stops_the_deploy_naming_it(runtime):
    template = {"Resources": {"Odd": {"Type": "AWS::Example::Thing", "Properties": {}}}}
    with pytest.raises(DeployError, match=r"Odd \(AWS::Example::Thing\): resource type"):
        deploy(template, runtime.cloud, stack_name="other")


def test_only_one_local_cloud_runs_per_process(runtime):
    with pytest.raises(Exception, match="already runs"):
        LocalCloud().start()
