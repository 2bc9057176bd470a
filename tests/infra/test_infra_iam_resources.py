"""Every statement of every role names resources its actions are authorized on (the Service
Authorization Reference, tests/infra/iam_reference.py). A grant on the wrong resource is a call
AWS denies: `sagemaker:ListModelPackages` scoped to the group's ARNs is never allowed."""

from __future__ import annotations

import pytest
from iam_reference import problems


def _role_statements(synthesized):
    roles = set(synthesized.resources("AWS::IAM::Role"))
    for policy_id, policy in synthesized.resources("AWS::IAM::Policy").items():
        assert all(r["Ref"] in roles for r in policy["Properties"]["Roles"]), policy_id
        for index, statement in enumerate(policy["Properties"]["PolicyDocument"]["Statement"]):
            yield f"{policy_id}[{index}]", statement
    for role_id, role in synthesized.resources("AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for index, statement in enumerate(policy["PolicyDocument"]["Statement"]):
                yield f"{role_id}.{policy['PolicyName']}[{index}]", statement


def _list(value):
    return value if isinstance(value, list) else [value]


def _resolver(synthesized):
    """The test resolver, with a topic's Ref as CloudFormation gives it: its ARN."""
    from emulator.intrinsics import Resolver

    resolver = Resolver(synthesized.raw, account="123456789012", region="us-east-1")
    for logical_id, topic in synthesized.resources("AWS::SNS::Topic").items():
        name = topic["Properties"]["TopicName"]
        resolver.physical_ids[logical_id] = f"arn:aws:sns:us-east-1:123456789012:{name}"
    return resolver


@pytest.mark.parametrize("stage", ["dev", "prod", "labelled"])
def test_every_role_statement_fits_the_service_authorization_reference(stage, request):
    synthesized = request.getfixturevalue(stage)
    resolver = _resolver(synthesized)
    found = {}
    count = 0
    for where, statement in _role_statements(synthesized):
        count += 1
        assert statement["Effect"] == "Allow" and "NotAction" not in statement, where
        resources = [resolver.resolve(r) for r in _list(statement["Resource"])]
        issues = problems(_list(statement["Action"]), resources)
        if issues:
            found[where] = issues
    assert count > 20
    assert found == {}


@pytest.mark.parametrize(
    ("actions", "resources", "expected"),
    [
        (
            ["sagemaker:ListModelPackages"],
            ["arn:aws:sagemaker:us-east-1:1:model-package/g/*"],
            "authorized against '*' only",
        ),
        (["s3:ListBucket"], ["arn:aws:s3:::b/incoming/*"], "supports ['accesspoint', 'bucket']"),
        (["s3:GetObject"], ["arn:aws:s3:::b"], "supports ['accesspointobject', 'object']"),
        (["dynamodb:GetItem"], ["*"], "given '*'"),
        (["dynamodb:Scna"], ["*"], "not an action"),
        (
            ["sqs:SendMessage"],
            ["arn:aws:sqs:us-east-1:1:q", "arn:aws:sns:us-east-1:1:t"],
            "arn:aws:sns:us-east-1:1:t: no action",
        ),
    ],
)
def test_the_check_refuses_what_aws_would(actions, resources, expected):
    issues = problems(actions, resources)
    assert any(expected in issue for issue in issues), issues


@pytest.mark.parametrize(
    ("actions", "resources"),
    [
        (["sagemaker:ListModelPackages", "xray:PutTraceSegments"], ["*"]),
        (["s3:GetObject", "s3:GetObjectVersion"], ["arn:aws:s3:::b/incoming/*"]),
        (["s3:ListBucket"], ["arn:aws:s3:::b"]),
        (
            ["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"],
            [
                "arn:aws:sagemaker:us-east-1:1:endpoint/e",
                "arn:aws:sagemaker:us-east-1:1:endpoint-config/e-*",
            ],
        ),
        (["ecr:BatchGetImage"], ["arn:aws:ecr:us-east-1:*:repository/sagemaker-scikit-learn"]),
        (
            ["sagemaker:ListPipelineExecutionSteps"],
            ["arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/*"],
        ),
        (["kms:GenerateDataKey*"], ["arn:aws:kms:us-east-1:1:key/k"]),
    ],
)
def test_the_check_accepts_what_aws_allows(actions, resources):
    assert problems(actions, resources) == []
