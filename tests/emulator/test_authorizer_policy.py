"""IAM policy evaluation as the IAM User Guide states it, and the action and resource ARNs of a
call as the Service Authorization Reference gives them."""

from __future__ import annotations

import pytest

from emulator.authorizer import policy, reference
from emulator.authorizer.reference import Check

ROLE = "arn:aws:iam::123456789012:role/worker"
BUCKET = "arn:aws:s3:::data"
ACCOUNT = {"account": "123456789012", "region": "us-east-1"}


def decide(statements, action, arn, context=None, resource=(), service=None):
    identity = policy.parse({"Statement": statements})
    resource_statements = policy.parse({"Statement": list(resource)}, resource_policy=True)
    return policy.decide(
        identity,
        resource_statements,
        principal=ROLE,
        action=action,
        arn=arn,
        context=context or {},
        service=service,
    )


def allow(action, resource, **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_an_allow_covers_only_its_action_and_resource():
    grant = [allow("s3:GetObject", f"{BUCKET}/incoming/*")]
    assert decide(grant, "s3:GetObject", f"{BUCKET}/incoming/a.csv").allowed
    assert not decide(grant, "s3:PutObject", f"{BUCKET}/incoming/a.csv").allowed
    refused = decide(grant, "s3:GetObject", f"{BUCKET}/other/a.csv")
    assert not refused.allowed and refused.explicit is None


def test_action_names_ignore_case_and_wildcards_match_both():
    grant = [allow("S3:get*", "arn:aws:s3:::da?a/*")]
    assert decide(grant, "s3:GetObjectVersion", f"{BUCKET}/k").allowed
    assert not decide(grant, "s3:GetObject", "arn:aws:s3:::dates/k").allowed


def test_an_explicit_deny_wins_over_any_allow():
    statements = [
        allow("s3:*", "*"),
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": f"{BUCKET}/*"},
    ]
    denied = decide(statements, "s3:DeleteObject", f"{BUCKET}/k")
    assert not denied.allowed and denied.explicit == "identity-based"
    assert decide(statements, "s3:GetObject", f"{BUCKET}/k").allowed


def test_not_action_allows_everything_else():
    grant = [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]
    assert decide(grant, "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q").allowed
    assert not decide(grant, "iam:PassRole", ROLE).allowed


def test_not_resource_excludes_its_resources():
    grant = [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": f"{BUCKET}/secret/*"}]
    assert decide(grant, "s3:GetObject", f"{BUCKET}/open/k").allowed
    assert not decide(grant, "s3:GetObject", f"{BUCKET}/secret/k").allowed


def test_string_like_on_s3_prefix_and_a_missing_key():
    grant = [
        allow("s3:ListBucket", BUCKET, Condition={"StringLike": {"s3:prefix": ["incoming/*"]}})
    ]
    assert decide(grant, "s3:ListBucket", BUCKET, {"s3:prefix": "incoming/x"}).allowed
    assert not decide(grant, "s3:ListBucket", BUCKET, {"s3:prefix": "capture/x"}).allowed
    # A listing without a prefix has no s3:prefix: the condition fails.
    assert not decide(grant, "s3:ListBucket", BUCKET, {}).allowed


def test_if_exists_and_negated_operators_hold_when_the_key_is_missing():
    if_exists = [
        allow("sns:Publish", "*", Condition={"StringEqualsIfExists": {"aws:SourceAccount": "1"}})
    ]
    assert decide(if_exists, "sns:Publish", "arn:aws:sns:us-east-1:1:t", {}).allowed
    assert not decide(
        if_exists, "sns:Publish", "arn:aws:sns:us-east-1:1:t", {"aws:sourceaccount": "2"}
    ).allowed
    negated = [allow("sns:Publish", "*", Condition={"StringNotEquals": {"aws:SourceAccount": "1"}})]
    assert decide(negated, "sns:Publish", "arn:aws:sns:us-east-1:1:t", {}).allowed


def test_bool_and_for_any_value():
    deny_plain_http = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    statements = [allow("s3:*", "*"), deny_plain_http]
    assert decide(statements, "s3:GetObject", f"{BUCKET}/k", {"aws:securetransport": True}).allowed
    assert not decide(
        statements, "s3:GetObject", f"{BUCKET}/k", {"aws:securetransport": False}
    ).allowed
    any_tag = [allow("s3:*", "*", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": "a"}})]
    assert decide(any_tag, "s3:PutObject", f"{BUCKET}/k", {"aws:tagkeys": ["b", "a"]}).allowed
    assert not decide(any_tag, "s3:PutObject", f"{BUCKET}/k", {"aws:tagkeys": ["b"]}).allowed


def test_a_service_principal_is_allowed_only_by_the_resource_policy():
    topic = "arn:aws:sns:us-east-1:123456789012:notifications"
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic,
        "Condition": {
            "StringEquals": {"aws:SourceAccount": "123456789012"},
            "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:mlops-*"},
        },
    }
    alarm = {
        "aws:sourceaccount": "123456789012",
        "aws:sourcearn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:mlops-dev-5xx",
    }
    cw = "cloudwatch.amazonaws.com"
    assert decide([], "sns:Publish", topic, alarm, [statement], service=cw).allowed
    other = {**alarm, "aws:sourcearn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x"}
    assert not decide([], "sns:Publish", topic, other, [statement], service=cw).allowed
    assert not decide([], "sns:Publish", topic, alarm, [], service=cw).allowed


def test_an_unsupported_condition_operator_is_named():
    grant = [allow("s3:*", "*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020"}})]
    with pytest.raises(policy.PolicyError, match="DateGreaterThan"):
        decide(grant, "s3:GetObject", f"{BUCKET}/k", {"aws:currenttime": "2021"})


@pytest.mark.parametrize(
    ("signing", "operation", "params", "expected"),
    [
        (
            "sagemaker",  # sagemaker-runtime signs as sagemaker
            "InvokeEndpoint",
            {"EndpointName": "e"},
            [
                Check(
                    "sagemaker:InvokeEndpoint",
                    "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e",
                )
            ],
        ),
        ("s3", "ListObjectsV2", {"Bucket": "data"}, [Check("s3:ListBucket", BUCKET)]),
        (
            "s3",
            "HeadObject",
            {"Bucket": "data", "Key": "a/b"},
            [Check("s3:GetObject", f"{BUCKET}/a/b")],
        ),
        (
            "s3",
            "GetObject",
            {"Bucket": "data", "Key": "k", "VersionId": "v1"},
            [Check("s3:GetObjectVersion", f"{BUCKET}/k")],
        ),
        (
            "lambda",
            "Invoke",
            {"FunctionName": "f"},
            [Check("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:f")],
        ),
        (
            "monitoring",
            "PutMetricData",
            {"Namespace": "n"},
            [Check("cloudwatch:PutMetricData", "*")],
        ),
        (
            "sqs",
            "SendMessage",
            {"QueueUrl": "http://localhost/123456789012/failed"},
            [Check("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:failed")],
        ),
        (
            "sagemaker",
            "CreateEndpoint",
            {"EndpointName": "e", "EndpointConfigName": "c"},
            [
                Check(
                    "sagemaker:CreateEndpoint",
                    "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e",
                ),
                Check(
                    "sagemaker:CreateEndpoint",
                    "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c",
                ),
            ],
        ),
        (
            "logs",
            "PutLogEvents",
            {"logGroupName": "/aws/sagemaker/x", "logStreamName": "s"},
            [
                Check(
                    "logs:PutLogEvents",
                    "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/x:log-stream:s",
                )
            ],
        ),
        (
            "dynamodb",
            "BatchWriteItem",
            {"RequestItems": {"state": [{"PutRequest": {}}]}},
            [
                Check(
                    "dynamodb:BatchWriteItem", "arn:aws:dynamodb:us-east-1:123456789012:table/state"
                )
            ],
        ),
        (
            "sagemaker",
            "ListModelPackages",
            {"ModelPackageGroupName": "g"},
            [Check("sagemaker:ListModelPackages", "*")],
        ),
    ],
)
def test_calls_map_to_the_references_actions_and_arn_templates(
    signing, operation, params, expected
):
    assert reference.checks(signing, operation, params, **ACCOUNT) == expected


def test_an_operation_without_an_action_is_named():
    with pytest.raises(reference.UnknownAction, match="sagemaker:NoSuchOperation"):
        reference.checks("sagemaker", "NoSuchOperation", {}, **ACCOUNT)


KEY = "arn:aws:kms:us-east-1:123456789012:key/k1"
KEY_POLICY = {
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:EncryptionContext:aws:sns:topicArn": "arn:aws:sns:us-east-1:1:alerts"
                }
            },
        },
    ]
}


def test_a_key_policy_delegating_to_the_account_leaves_the_decision_to_iam():
    from emulator.authorizer import kms

    key_policy = policy.parse(KEY_POLICY, resource_policy=True)
    granted = policy.parse({"Statement": [allow("kms:Decrypt", KEY)]})
    check = Check("kms:Decrypt", KEY)
    assert kms.decide(granted, key_policy, principal=ROLE, check=check, context={}).allowed
    assert not kms.decide([], key_policy, principal=ROLE, check=check, context={}).allowed
    # Without the root statement, an IAM grant alone does not open the key.
    only_service = policy.parse({"Statement": KEY_POLICY["Statement"][1:]}, resource_policy=True)
    assert not kms.decide(granted, only_service, principal=ROLE, check=check, context={}).allowed


def test_a_service_principal_needs_the_key_policy_and_its_encryption_context():
    from emulator.authorizer import kms

    key_policy = policy.parse(KEY_POLICY, resource_policy=True)
    check = Check("kms:GenerateDataKey", KEY)
    cw = "cloudwatch.amazonaws.com"
    right = {"kms:encryptioncontext:aws:sns:topicarn": "arn:aws:sns:us-east-1:1:alerts"}
    wrong = {"kms:encryptioncontext:aws:sns:topicarn": "arn:aws:sns:us-east-1:1:other"}
    kwargs = {"principal": "", "check": check, "service": cw}
    assert kms.decide([], key_policy, context=right, **kwargs).allowed
    assert not kms.decide([], key_policy, context=wrong, **kwargs).allowed


def test_the_demo_writes_and_prints_the_unused_grants(tmp_path):
    import json

    from emulator.demo import render_unused_grants

    unused = {
        "mlops-dev-model": [{"policy": "P", "sid": "", "action": "kms:Encrypt", "resource": "*"}]
    }
    path = tmp_path / ".mlops" / "unused-grants.json"
    text = render_unused_grants(unused, path)
    assert json.loads(path.read_text()) == unused
    assert text.splitlines()[1:] == ["  mlops-dev-model", "    kms:Encrypt on *"]
    assert "every grant of the template was used" in render_unused_grants({}, path)
