"""Physical names come from infra/names.py only, what `cdk destroy` keeps takes the suffix,
and the config's resource count is the template's."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from infra.names import BUCKET_KINDS, FUNCTIONS, RULES
from infra.quotas import CDK_METADATA_RESOURCES, TEMPLATE_MAX_RESOURCES, template_resources

ACCOUNT, REGION = "123456789012", "us-east-1"
# The property that holds each named resource type's physical name.
NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::SageMaker::Pipeline": "PipelineName",
    "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::IAM::Role": "RoleName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Events::Rule": "Name",
}


def _named(stage) -> dict[tuple[str, str], dict]:
    """(resource type, physical name) -> resource, for every resource the stack names."""
    named = {}
    for resource in stage.raw["Resources"].values():
        prop = NAME_PROPERTY.get(resource["Type"])
        if prop and prop in resource["Properties"]:
            key = (resource["Type"], stage.resolved(resource["Properties"][prop]))
            assert key not in named, f"two resources named {key}"
            named[key] = resource
    return named


def _expected(config) -> Counter[str]:
    names = config.names
    rules = [r for r in RULES if r != "retrain-schedule" or config.retrain.schedule]
    # A function and its rule share a name: they live in different services.
    return Counter(
        [
            *(names.bucket(kind, ACCOUNT, REGION) for kind in BUCKET_KINDS),
            names.training_pipeline,
            names.monitoring_pipeline,
            names.model_group,
            names.key_alias,
            names.state_table,
            names.failure_queue,
            names.topic,
            names.sagemaker_role,
            names.model_role,
            names.dashboard,
            *(names.function(f) for f in FUNCTIONS),
            *(names.log_group(f) for f in FUNCTIONS),
            *(names.rule(r) for r in rules),
            *config.drift_alarm_names,
            *([names.data_quality_alarm] if config.data_quality.alarm_threshold else []),
            *names.rollback_alarms,
            *names.operations_alarms(),
        ]
    )


@pytest.mark.parametrize("stage_name", ["dev", "prod", "widest"])
def test_every_physical_name_is_one_names_py_derives_and_checks(request, stage_name):
    stage = request.getfixturevalue(stage_name)
    assert Counter(name for _, name in _named(stage)) == _expected(stage.config)


def test_what_cdk_destroy_keeps_takes_the_suffix_and_nothing_else_does(widest, dev):
    suffix = f"-{widest.config.retained_name_suffix}"
    retained = {
        name: kind
        for (kind, name), resource in _named(widest).items()
        if resource.get("DeletionPolicy") == "Retain"
    }
    assert sorted(retained.values()) == [
        "AWS::S3::Bucket",
        "AWS::S3::Bucket",
        "AWS::S3::Bucket",
        "AWS::SageMaker::ModelPackageGroup",
    ]
    assert all(name.endswith(suffix) for name in retained)
    others = {name for _, name in _named(widest)} - set(retained)
    assert not any(name.endswith(suffix) for name in others)
    # The functions and the pipelines' role follow the group to its new name.
    group = widest.config.names.model_group
    env = json.dumps(widest.resolved(widest.raw["Resources"]))
    assert f'"MODEL_PACKAGE_GROUP_NAME": "{group}"' in env
    assert f"model-package-group/{group}" in env
    assert f"model-package-group/{group}" not in json.dumps(dev.resolved(dev.raw["Resources"]))


@pytest.mark.parametrize("stage_name", ["dev", "prod", "widest"])
def test_the_configs_resource_count_is_the_templates(request, stage_name):
    stage = request.getfixturevalue(stage_name)
    counted = template_resources(
        features=len(stage.config.dataset.features),
        retrain_schedule=stage.config.retrain.schedule is not None,
        email=stage.config.notification_email is not None,
        data_quality_alarm=stage.config.data_quality.alarm_threshold is not None,
    )
    # The test app leaves out AWS::CDK::Metadata; `cdk synth` adds it.
    assert len(stage.raw["Resources"]) + CDK_METADATA_RESOURCES == counted, (
        "the template's resources changed: update the counts in infra/quotas.py"
    )
    assert counted <= TEMPLATE_MAX_RESOURCES
