"""The registry, the pipelines as built by pipelines/, and the SageMaker role's reach."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Capture, Match


def _pipeline(dev, suffix: str) -> dict:
    name = f"{dev.config.prefix}-{suffix}"
    for p in dev.resources("AWS::SageMaker::Pipeline").values():
        if p["Properties"]["PipelineName"] == name:
            return p["Properties"]
    raise AssertionError(f"no pipeline {name}")


def test_model_package_group_is_named_by_the_contract(dev):
    dev.template.has_resource_properties(
        "AWS::SageMaker::ModelPackageGroup",
        {"ModelPackageGroupName": f"{dev.config.prefix}-models"},
    )


def test_pipelines_embed_the_offline_definitions_with_every_placeholder_supplied(dev):
    for suffix in ("training", "monitoring"):
        body = _pipeline(dev, suffix)["PipelineDefinition"]["PipelineDefinitionBody"]
        text, variables = body["Fn::Sub"]
        definition = json.loads(text)
        assert definition["Steps"], suffix
        used = {v for v in _placeholders(text) if not v.startswith("AWS::")}
        assert used <= variables.keys(), f"{suffix}: unsupplied {sorted(used - variables.keys())}"
        resolved = json.loads(dev.resolved(body))
        assert "${" not in json.dumps(resolved)


def test_training_pipeline_has_the_design_steps_in_order(dev):
    body = _pipeline(dev, "training")["PipelineDefinition"]["PipelineDefinitionBody"]
    definition = json.loads(body["Fn::Sub"][0])
    types = [step["Type"] for step in definition["Steps"]]
    assert "Condition" in types
    names = json.dumps(definition)
    for step in ("Validate", "Preprocess", "Train", "Evaluate", "Baseline", "Register"):
        assert step in names, step
    parameters = {p["Name"] for p in definition["Parameters"]}
    assert {
        "InputDataUri",
        "DataManifestUri",
        "TriggerEventId",
        "TriggerEventType",
        "ModelApprovalStatus",
        "MetricThreshold",
    } <= parameters


def test_sklearn_image_resolves_per_region(dev):
    mapping = dev.raw["Mappings"]["SklearnImageRegistries"]
    assert mapping["us-east-1"]["account"] == "683313688378"
    assert len(mapping) > 20


def test_sagemaker_role_is_assumed_by_sagemaker_only_and_has_no_action_wildcard(dev):
    principal = Capture()
    dev.template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": f"{dev.config.prefix}-sagemaker",
            "AssumeRolePolicyDocument": {
                "Statement": [Match.object_like({"Principal": principal})]
            },
        },
    )
    assert principal.as_object() == {"Service": "sagemaker.amazonaws.com"}
    for policy in dev.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            action = statement["Action"]
            for a in action if isinstance(action, list) else [action]:
                assert a != "*" and not a.endswith(":*"), a


def _pipeline_role_statements(dev) -> list[dict]:
    role_id = next(
        k
        for k, v in dev.resources("AWS::IAM::Role").items()
        if v["Properties"].get("RoleName") == f"{dev.config.prefix}-sagemaker"
    )
    return [
        s
        for p in dev.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_jobs_publish_their_own_metrics_and_the_drift_metrics(dev):
    """SageMaker puts a job's instance and algorithm metrics with the job's role; a namespace
    condition that names only the drift namespace drops them."""
    (metrics,) = [
        s for s in _pipeline_role_statements(dev) if s["Action"] == "cloudwatch:PutMetricData"
    ]
    assert metrics["Resource"] == "*"
    assert set(metrics["Condition"]["StringEquals"]["cloudwatch:namespace"]) == {
        f"{dev.config.prefix}/Drift",
        "/aws/sagemaker/ProcessingJobs",
        "/aws/sagemaker/TrainingJobs",
    }


@pytest.mark.parametrize("suffix", ["training", "monitoring"])
def test_every_job_volume_is_encrypted_with_the_stack_key(dev, suffix):
    body = _pipeline(dev, suffix)["PipelineDefinition"]["PipelineDefinitionBody"]
    text, variables = body["Fn::Sub"]
    key_id = next(iter(dev.resources("AWS::KMS::Key")))
    assert variables["KmsKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]}
    jobs = [s for s in json.loads(text)["Steps"] if s["Type"] in ("Processing", "Training")]
    assert jobs
    for step in jobs:
        arguments = step["Arguments"]
        resources = (
            arguments.get("ProcessingResources", {}).get("ClusterConfig")
            or arguments["ResourceConfig"]
        )
        assert resources["VolumeKmsKeyId"] == "${KmsKeyArn}", step["Name"]
    # Creating a job with a volume key needs a grant on it, for AWS resources only.
    dev.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "kms:CreateGrant",
                                "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
                                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def _placeholders(text: str) -> set[str]:
    import re

    return set(re.findall(r"\$\{([^}]+)\}", text))
