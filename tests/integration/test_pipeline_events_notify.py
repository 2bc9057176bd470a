"""pipeline_events: guard release, notifications on failure and pending approval."""

from __future__ import annotations

from unittest import mock

from lambda_fixtures import GROUP, handler, load_event, log_records

from functions.shared.clients import client
from functions.shared.settings import DataArrivalSettings, load_settings
from functions.shared.training import acquire_guard, read_guard

EXECUTION = (
    "arn:aws:sagemaker:us-east-1:123456789012:pipeline/mlops-dev-training/execution/p4jn9xou8a8s"
)


def _hold_guard_for(aws, execution_arn: str) -> None:
    settings = load_settings(DataArrivalSettings)
    assert acquire_guard(settings, "t" * 40)
    aws.ddb.update_item(
        TableName="mlops-dev-state",
        Key={"pk": {"S": "guard"}, "sk": {"S": "training"}},
        UpdateExpression="SET execution_arn = :a",
        ExpressionAttributeValues={":a": {"S": execution_arn}},
    )


def _register(aws, execution_arn: str, status: str = "PendingManualApproval") -> str:
    aws.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    return aws.sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "img:1", "ModelDataUrl": "s3://b/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        CustomerMetadataProperties={
            "PipelineExecutionArn": execution_arn,
            "MetricName": "roc_auc",
            "MetricValue": "0.91",
            "EvaluationUri": "s3://b/evaluation.json",
            "BaselineUri": "s3://b/baseline.json",
        },
    )["ModelPackageArn"]


def test_success_releases_guard_and_asks_for_approval(aws, context):
    _hold_guard_for(aws, EXECUTION)
    arn = _register(aws, EXECUTION)
    result = handler("pipeline_events")(load_event("pipeline_execution_succeeded.json"), context)
    assert result["guard_released"] is True
    assert result["follow_up_execution_arn"] is None
    assert read_guard(load_settings(DataArrivalSettings)) is None
    [message] = aws.messages()
    body = __import__("json").loads(message["Message"])
    assert body["kind"] == "pending_approval"
    assert body["model_package_arn"] == arn
    assert body["metrics"]["metric_value"] == "0.91"
    assert body["registry_link"].startswith("https://us-east-1.console.aws.amazon.com/sagemaker/")


def test_failure_notifies_with_failed_steps(aws, context):
    event = load_event("pipeline_execution_succeeded.json")
    event["detail"]["currentPipelineExecutionStatus"] = "Failed"
    sagemaker = client("sagemaker")
    steps = {
        "PipelineExecutionSteps": [
            {"StepName": "Validate", "StepStatus": "Failed", "FailureReason": "3 violations"}
        ]
    }
    described = {"PipelineExecutionStatus": "Failed", "FailureReason": "step Validate failed"}
    with (
        mock.patch.object(sagemaker, "list_pipeline_execution_steps", return_value=steps),
        mock.patch.object(sagemaker, "describe_pipeline_execution", return_value=described),
    ):
        result = handler("pipeline_events")(event, context)
    assert result["status"] == "Failed"
    [message] = aws.messages()
    body = __import__("json").loads(message["Message"])
    assert body["kind"] == "training_failed"
    assert body["failed_steps"] == [{"step": "Validate", "reason": "3 violations"}]


def test_non_terminal_and_foreign_events_are_ignored(aws, context, logs):
    result = handler("pipeline_events")(load_event("pipeline_execution_executing.json"), context)
    assert result == {"status": "ignored", "reason": "not_terminal"}
    other = load_event("pipeline_execution_succeeded.json")
    other["detail"]["pipelineArn"] = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/other"
    assert handler("pipeline_events")(other, context)["reason"] == "other_pipeline"
    assert handler("pipeline_events")({"detail": {}}, context)["reason"] == "malformed_event"
    assert {r.get("reason") for r in log_records(logs)} >= {"not_terminal", "other_pipeline"}
    assert aws.messages() == []


def test_run_without_model_does_not_notify(aws, context):
    aws.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    handler("pipeline_events")(load_event("pipeline_execution_succeeded.json"), context)
    assert aws.messages() == []
