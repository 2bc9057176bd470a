"""The registry, the pipelines as built by pipelines/, and the SageMaker role's reach."""

from __future__ import annotations

import json

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


def test_pass_role_only_hands_over_the_sagemaker_role(dev):
    role_id = next(
        k
        for k, v in dev.resources("AWS::IAM::Role").items()
        if v["Properties"].get("RoleName") == f"{dev.config.prefix}-sagemaker"
    )
    statements = [
        s
        for p in dev.resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "iam:PassRole" in json.dumps(s["Action"])
    ]
    assert len(statements) == 2  # the role passing itself to its jobs, and the deploy function
    for statement in statements:
        assert statement["Resource"] == {"Fn::GetAtt": [role_id, "Arn"]}


def _placeholders(text: str) -> set[str]:
    import re

    return set(re.findall(r"\$\{([^}]+)\}", text))
