"""Each role holds what its code calls, both ways: every call the code makes is allowed, and
every action granted is called (code_calls.py finds the calls statically). The few grants that
no line of our code calls are listed below with the caller that does need them."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import pytest
from code_calls import lambda_calls, pipeline_step_calls

FUNCTIONS = ("data_arrival", "pipeline_events", "deploy", "drift_retrain")

# Called on the function's behalf, with its role, by Lambda and the services it uses.
LAMBDA_PLATFORM = {
    "xray:PutTraceSegments": "active tracing: the X-Ray SDK (Powertools Tracer) sends segments",
    "xray:PutTelemetryRecords": "active tracing: the X-Ray daemon reports telemetry",
    "sqs:SendMessage": "Lambda's on-failure destination (the failure queue) sends with the "
    "function's role",
    "kms:Decrypt": "the table, topic, failure queue and buckets are encrypted with the stack's "
    "key: DynamoDB, SNS, SQS and S3 use it with the caller's permissions",
    "kms:DescribeKey": "as kms:Decrypt (DynamoDB checks the table key)",
    "kms:Encrypt": "as kms:Decrypt (DynamoDB writes)",
    "kms:GenerateDataKey": "as kms:Decrypt (S3 puts, SNS publishes, SQS sends)",
}

# SageMaker Pipelines and the jobs it starts act with the pipeline role.
STEP_ACTIONS = {
    "Processing": (
        "sagemaker:CreateProcessingJob",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:StopProcessingJob",
    ),
    "Training": (
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopTrainingJob",
    ),
    "RegisterModel": ("sagemaker:CreateModelPackage",),
}
JOB_PLATFORM = {
    "iam:PassRole": "Pipelines hands the role to each job it creates",
    "s3:GetObject": "SageMaker downloads the job inputs and the code bundle",
    "s3:ListBucket": "SageMaker lists S3Prefix inputs before downloading them",
    "s3:PutObject": "SageMaker uploads the job outputs and the model artifact",
    "s3:AbortMultipartUpload": "SageMaker uploads large outputs in parts",
    "ecr:GetAuthorizationToken": "pulling the scikit-learn image",
    "ecr:BatchGetImage": "pulling the scikit-learn image",
    "ecr:GetDownloadUrlForLayer": "pulling the scikit-learn image",
    "ecr:BatchCheckLayerAvailability": "pulling the scikit-learn image",
    "logs:CreateLogGroup": "the jobs' logs (/aws/sagemaker/ProcessingJobs, TrainingJobs)",
    "logs:CreateLogStream": "the jobs' logs",
    "logs:PutLogEvents": "the jobs' logs",
    "logs:DescribeLogStreams": "the jobs' logs",
    "cloudwatch:PutMetricData": "the jobs' instance and algorithm metrics",
    "kms:Decrypt": "inputs are SSE-KMS objects of the stack's key",
    "kms:GenerateDataKey": "outputs are written SSE-KMS with the stack's key",
    "kms:Encrypt": "as kms:GenerateDataKey",
    "kms:DescribeKey": "SageMaker checks the volume key of a job",
    "kms:CreateGrant": "a job's volume is encrypted with the key (VolumeKmsKeyId)",
    "sagemaker:AddTags": "Pipelines tags the jobs and the model package it creates",
    "sagemaker:DescribeModelPackage": "the RegisterModel step reads the package it created",
    "sagemaker:DescribeModelPackageGroup": "the RegisterModel step checks the group",
}


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def _role_actions(synthesized, role_id: str) -> set[str]:
    return {
        a
        for p in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        for a in _actions(s)
    }


def _function_role(synthesized, function: str) -> str:
    name = f"{synthesized.config.prefix}-{function.replace('_', '-')}"
    for fn in synthesized.resources("AWS::Lambda::Function").values():
        if fn["Properties"]["FunctionName"] == name:
            return fn["Properties"]["Role"]["Fn::GetAtt"][0]
    raise AssertionError(f"no function {name}")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_static_finder_resolves_every_aws_call(function):
    calls = lambda_calls(function)
    assert calls.unresolved == ()
    assert f"functions.{function}.logic" in calls.modules
    assert calls.calls, "expected AWS calls"


@pytest.mark.parametrize("stage", ["dev", "prod", "labelled"])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_role_is_exactly_what_its_code_calls(stage, function, request):
    synthesized = request.getfixturevalue(stage)
    called = lambda_calls(function).actions()
    granted = _role_actions(synthesized, _function_role(synthesized, function))
    missing = {a: where for a, where in called.items() if not _allowed(a, granted)}
    assert missing == {}, f"called but not granted: {json.dumps(missing, indent=1)}"
    # A wildcard grants more than any call needs, so it counts as unused.
    unused = granted - called.keys() - LAMBDA_PLATFORM.keys()
    assert unused == set(), f"granted but never called: {sorted(unused)}"


def _allowed(action: str, granted: set[str]) -> bool:
    return any(fnmatchcase(action.lower(), g.lower()) for g in granted)


def _definition_step_types(synthesized) -> set[str]:
    types: set[str] = set()

    def walk(steps: list[dict]) -> None:
        for step in steps:
            types.add(step["Type"])
            walk(step.get("Arguments", {}).get("IfSteps", []))
            walk(step.get("Arguments", {}).get("ElseSteps", []))

    for pipeline in synthesized.resources("AWS::SageMaker::Pipeline").values():
        text = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"][0]
        walk(json.loads(text)["Steps"])
    return types


@pytest.mark.parametrize("stage", ["dev", "prod", "labelled"])
def test_pipeline_role_is_what_its_steps_and_jobs_call(stage, request):
    synthesized = request.getfixturevalue(stage)
    role_id = next(
        k
        for k, r in synthesized.resources("AWS::IAM::Role").items()
        if r["Properties"].get("RoleName") == f"{synthesized.config.prefix}-sagemaker"
    )
    granted = _role_actions(synthesized, role_id)
    step_code = pipeline_step_calls().actions()
    assert {"s3:GetObject", "s3:ListBucket", "cloudwatch:PutMetricData"} <= step_code.keys()
    orchestration = {
        a for t in _definition_step_types(synthesized) for a in STEP_ACTIONS.get(t, ())
    }
    needed = step_code.keys() | orchestration
    assert {a for a in needed if not _allowed(a, granted)} == set()
    assert granted - needed - JOB_PLATFORM.keys() == set()
