"""The pipeline executor runs the real training definition end to end against moto."""

from __future__ import annotations

from pathlib import Path

import pytest
from sagemaker_fixtures import Cloud, Run, run_training

from emulator.pipeline_executor import MODEL_PACKAGE_EVENT, PIPELINE_EVENT, PipelineExecutor
from emulator.pipeline_functions import Context, UnsupportedError, resolve
from pipelines.datasets import generate_churn

TRAINING_STEPS = {
    "Validate",
    "Preprocess",
    "Train",
    "Evaluate",
    "Baseline",
    "CheckMetric",
    "Register",
}


def test_training_run_succeeds_and_registers_with_lineage(
    good_run: Run,
    cloud: Cloud,  # noqa: F811
) -> None:
    assert good_run.status == "Succeeded", good_run.executor.failure_reason(good_run.execution_arn)
    sm = cloud.client("sagemaker")
    assert good_run.described_while_running == "Executing"
    described = sm.describe_pipeline_execution(PipelineExecutionArn=good_run.execution_arn)
    assert described["PipelineExecutionStatus"] == "Succeeded"

    packages = sm.list_model_packages(ModelPackageGroupName=cloud.group)["ModelPackageSummaryList"]
    assert len(packages) == 1
    package = sm.describe_model_package(ModelPackageName=packages[0]["ModelPackageArn"])
    lineage = package["CustomerMetadataProperties"]
    assert lineage["PipelineExecutionArn"] == good_run.execution_arn
    assert lineage["TriggerEventId"] == "evt-123"
    assert lineage["InputDataUri"] == f"s3://{cloud.data_bucket}/incoming/good/"
    assert lineage["CodeVersion"] == cloud.code_version
    assert lineage["MetricName"] == "roc_auc" and float(lineage["MetricValue"]) >= 0.7
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    model_url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    execution_id = good_run.execution_arn.rsplit("/", 1)[-1]
    assert model_url.startswith(f"s3://{cloud.artifacts_bucket}/pipelines/{execution_id}/model/")
    assert model_url.endswith("/output/model.tar.gz")
    bucket, key = model_url[5:].split("/", 1)
    assert cloud.client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    for uri_key in ("BaselineUri", "EvaluationUri"):
        bucket, key = lineage[uri_key][5:].split("/", 1)
        cloud.client("s3").head_object(Bucket=bucket, Key=key)


def test_steps_are_listed_with_metadata(good_run: Run) -> None:  # noqa: F811
    steps = good_run.executor.steps(good_run.execution_arn)
    assert {s["StepName"] for s in steps} == TRAINING_STEPS
    assert all(s["StepStatus"] == "Succeeded" for s in steps), steps
    assert [s["StartTime"] for s in steps] == sorted((s["StartTime"] for s in steps), reverse=True)
    by_name = {s["StepName"]: s for s in steps}
    assert ":processing-job/pipelines-" in by_name["Validate"]["Metadata"]["ProcessingJob"]["Arn"]
    assert ":training-job/" in by_name["Train"]["Metadata"]["TrainingJob"]["Arn"]
    assert by_name["CheckMetric"]["Metadata"] == {"Condition": {"Outcome": "True"}}
    assert ":model-package/" in by_name["Register"]["Metadata"]["RegisterModel"]["Arn"]
    assert all(s["EndTime"] >= s["StartTime"] for s in steps)


def test_events_in_order_and_in_aws_shape(
    good_run: Run,
    cloud: Cloud,  # noqa: F811
) -> None:
    kinds = [e["detail-type"] for e in good_run.events.items]
    assert kinds == [PIPELINE_EVENT, MODEL_PACKAGE_EVENT, PIPELINE_EVENT]
    started, registered, finished = good_run.events.items
    assert started["detail"]["currentPipelineExecutionStatus"] == "Executing"
    assert "previousPipelineExecutionStatus" not in started["detail"]
    assert finished["detail"]["currentPipelineExecutionStatus"] == "Succeeded"
    assert finished["detail"]["previousPipelineExecutionStatus"] == "Executing"
    assert finished["resources"] == [good_run.pipeline_arn, good_run.execution_arn]
    assert finished["detail"]["pipelineExecutionArn"] == good_run.execution_arn
    assert finished["source"] == "aws.sagemaker" and finished["account"] == "123456789012"
    assert finished["detail"]["executionEndTime"].endswith("Z")
    detail = registered["detail"]
    assert detail["ModelPackageGroupName"] == cloud.group
    assert detail["ModelApprovalStatus"] == "PendingManualApproval"
    assert detail["ModelPackageVersion"] == 1
    assert registered["resources"] == [detail["ModelPackageArn"]]


def test_bad_data_fails_validate_and_registers_nothing(
    cloud: Cloud,
    tmp_path: Path,
    good_run: Run,  # noqa: F811
) -> None:
    frame = generate_churn(300, 5)
    frame.loc[:, "contract"] = "lifetime"  # not one of the schema's categories
    cloud.put_csv("incoming/bad/churn.csv", frame.to_csv(index=False))
    sm = cloud.client("sagemaker")
    before = len(
        sm.list_model_packages(ModelPackageGroupName=cloud.group)["ModelPackageSummaryList"]
    )
    run = run_training(
        cloud,
        tmp_path,
        f"{cloud.prefix}-bad",
        {"InputDataUri": f"s3://{cloud.data_bucket}/incoming/bad/"},
    )
    assert run.status == "Failed"
    reason = run.executor.failure_reason(run.execution_arn) or ""
    assert "Validate" in reason and "lifetime" in reason, reason
    steps = run.executor.steps(run.execution_arn)
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [("Validate", "Failed")]
    assert "lifetime" in steps[0]["FailureReason"]
    after = sm.list_model_packages(ModelPackageGroupName=cloud.group)["ModelPackageSummaryList"]
    assert len(after) == before
    assert (
        sm.describe_pipeline_execution(PipelineExecutionArn=run.execution_arn)[
            "PipelineExecutionStatus"
        ]
        == "Failed"
    )
    assert [e["detail"]["currentPipelineExecutionStatus"] for e in run.events.items] == [
        "Executing",
        "Failed",
    ]


def test_unsupported_step_type_fails_naming_it(cloud: Cloud, tmp_path: Path) -> None:  # noqa: F811
    events: list[dict] = []
    executor = PipelineExecutor(endpoint_url=cloud.url, scratch_dir=tmp_path, emit=events.append)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/nowhere/execution/abc123"
    definition = {
        "Version": "2020-12-01",
        "Parameters": [],
        "Steps": [{"Name": "Tune", "Type": "Tuning", "Arguments": {}}],
    }
    executor.start(
        pipeline_arn=arn.split("/execution")[0],
        execution_arn=arn,
        definition=definition,
        parameters={},
    )
    assert executor.wait(arn, 30) == "Failed"
    assert "Tuning" in (executor.failure_reason(arn) or "")
    assert events[-1]["detail"]["currentPipelineExecutionStatus"] == "Failed"


def test_expressions_resolve_like_sagemaker() -> None:
    ctx = Context(
        parameters={"Threshold": 0.7, "Count": 2},
        execution={"PipelineExecutionId": "abc"},
        steps={
            "P": {
                "ProcessingOutputConfig": {
                    "Outputs": [
                        {"OutputName": "a", "S3Output": {"S3Uri": "s3://b/a"}},
                        {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/t"}},
                    ]
                }
            }
        },
        property_files={"P": {"Report": {"objective": {"items": [1, {"v": 0.9}]}}}},
    )
    value = {
        "Std:Join": {
            "On": "/",
            "Values": [
                {"Get": "Steps.P.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"},
                {"Get": "Execution.PipelineExecutionId"},
                {"Get": "Parameters.Threshold"},
                {
                    "Std:JsonGet": {
                        "Path": "objective.items[1].v",
                        "PropertyFile": {"Get": "Steps.P.PropertyFiles.Report"},
                    }
                },
            ],
        }
    }
    assert resolve(value, ctx) == "s3://b/t/abc/0.7/0.9"
    with pytest.raises(UnsupportedError, match="Std:Select"):
        resolve({"Std:Select": {}}, ctx)
