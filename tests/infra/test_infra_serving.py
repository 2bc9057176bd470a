"""The model's own execution role: what the endpoint needs, and nothing of the pipeline's."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Capture, Match


def _role_id(dev, suffix: str) -> str:
    name = f"{dev.config.prefix}-{suffix}"
    for logical_id, role in dev.resources("AWS::IAM::Role").items():
        if role["Properties"].get("RoleName") == name:
            return logical_id
    raise AssertionError(f"no role {name}")


def _statements(dev, role_id: str) -> list[dict]:
    return [
        s
        for p in dev.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def _resources(dev, statement: dict) -> list[str]:
    resource = statement["Resource"]
    return [dev.resolved(r) for r in (resource if isinstance(resource, list) else [resource])]


def _deploy_env(dev) -> dict:
    for fn in dev.resources("AWS::Lambda::Function").values():
        if fn["Properties"]["FunctionName"] == f"{dev.config.prefix}-deploy":
            return fn["Properties"]["Environment"]["Variables"]
    raise AssertionError("no deploy function")


def test_deploy_creates_models_with_the_model_role(dev):
    role_id = _role_id(dev, "model")
    assert _deploy_env(dev)["MODEL_ROLE_ARN"] == {"Fn::GetAtt": [role_id, "Arn"]}
    principal = Capture()
    dev.template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": f"{dev.config.prefix}-model",
            "AssumeRolePolicyDocument": {
                "Statement": [Match.object_like({"Principal": principal})]
            },
        },
    )
    assert principal.as_object() == {"Service": "sagemaker.amazonaws.com"}


def test_model_role_reads_model_artifacts_and_writes_capture_only(dev):
    statements = _statements(dev, _role_id(dev, "model"))
    s3 = {
        (action, resource)
        for s in statements
        for action in _actions(s)
        if action.startswith("s3:")
        for resource in _resources(dev, s)
    }
    artifacts = f"arn:aws:s3:::{dev.config.prefix}-artifacts-123456789012-us-east-1"
    data = f"arn:aws:s3:::{dev.config.prefix}-data-123456789012-us-east-1"
    assert s3 == {
        ("s3:GetObject", f"{artifacts}/pipelines/*/model/*"),
        ("s3:PutObject", f"{data}/capture/*"),
    }
    actions = {a for s in statements for a in _actions(s)}
    # Nothing of the pipeline's reach: no jobs, no registry, no role to hand on, no training data.
    assert not {a for a in actions if a.startswith(("sagemaker:", "iam:", "dynamodb:", "sns:"))}


def test_model_role_writes_only_its_own_logs_and_endpoint_metrics(dev):
    statements = _statements(dev, _role_id(dev, "model"))
    (logs,) = [s for s in statements if any(a.startswith("logs:") for a in _actions(s))]
    group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/"
    endpoint = f"{dev.config.prefix}-endpoint"
    assert set(_resources(dev, logs)) == {f"{group}{endpoint}", f"{group}{endpoint}:*"}
    (metrics,) = [s for s in statements if "cloudwatch:PutMetricData" in _actions(s)]
    assert metrics["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}
    }


def test_model_role_reads_the_rollback_alarms(dev):
    """Deployment guardrails describe the auto-rollback alarms with the endpoint's role."""
    rollback = json.loads(dev.resolved(_deploy_env(dev)["ROLLBACK_ALARM_NAMES"]))
    alarm_ids = {
        a["Properties"]["AlarmName"]: logical_id
        for logical_id, a in dev.resources("AWS::CloudWatch::Alarm").items()
    }
    statements = _statements(dev, _role_id(dev, "model"))
    (describe,) = [s for s in statements if "cloudwatch:DescribeAlarms" in _actions(s)]
    assert sorted(describe["Resource"], key=str) == sorted(
        ({"Fn::GetAtt": [alarm_ids[name], "Arn"]} for name in rollback), key=str
    )


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_pass_role_names_its_role_and_sagemaker(stage, request):
    synthesized = request.getfixturevalue(stage)
    passes = {
        role_id: s
        for role_id in synthesized.resources("AWS::IAM::Role")
        for s in _statements(synthesized, role_id)
        if "iam:PassRole" in _actions(s)
    }
    assert passes, "expected PassRole statements"
    for statement in passes.values():
        assert statement["Condition"] == {
            "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
        }
    deploy_role = next(
        r["Properties"]["Role"]["Fn::GetAtt"][0]
        for r in synthesized.resources("AWS::Lambda::Function").values()
        if r["Properties"]["FunctionName"].endswith("-deploy")
    )
    model_role = _role_id(synthesized, "model")
    pipeline_role = _role_id(synthesized, "sagemaker")
    # The deploy function hands on the model's role only; the pipeline role passes itself to
    # its jobs; nobody else passes anything.
    assert {k: v["Resource"] for k, v in passes.items()} == {
        deploy_role: {"Fn::GetAtt": [model_role, "Arn"]},
        pipeline_role: {"Fn::GetAtt": [pipeline_role, "Arn"]},
    }
