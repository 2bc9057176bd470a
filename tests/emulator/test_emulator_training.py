"""An S3 event put with the AWS CLI reaches data_arrival through the loop's own rule, which starts
the training pipeline; the executor runs the real definition and SageMaker's APIs report it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import aws_cli, package_of, unique

from emulator.aws_events import MODEL_PACKAGE_EVENT, PIPELINE_EVENT
from emulator.pipeline_functions import Context, UnsupportedError, resolve
from mlops.lineage import trained_on
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


@contextlib.contextmanager
def arrivals_paused(runtime) -> Iterator[None]:
    """Objects written meanwhile start nothing: the data-arrival rule is off."""
    rule = next(r.name for r in runtime.bus.rules() if r.name.endswith("-data-arrival"))
    aws_cli(runtime, "events", "disable-rule", "--name", rule)
    try:
        yield
    finally:
        aws_cli(runtime, "events", "enable-rule", "--name", rule)


def _s3_event_entry(runtime, load_event, key: str) -> dict[str, Any]:
    head = runtime.cloud.client("s3").head_object(Bucket=runtime.data_bucket, Key=key)
    sample = load_event("s3_object_created.json")
    detail = sample["detail"]
    detail["bucket"]["name"] = runtime.data_bucket
    detail["object"].update(
        {
            "key": key,
            "size": head["ContentLength"],
            "etag": head["ETag"].strip('"'),
            "version-id": head["VersionId"],
        }
    )
    return {
        "Source": sample["source"],
        "DetailType": sample["detail-type"],
        "Resources": [f"arn:aws:s3:::{runtime.data_bucket}"],
        "Detail": json.dumps(detail),
    }


@dataclass
class Run:
    entry: dict[str, Any]
    execution_arn: str
    status: str

    @property
    def entry_version(self) -> str:
        return json.loads(self.entry["Detail"])["object"]["version-id"]


@pytest.fixture(scope="module")
def cli_run(runtime, load_event) -> Run:
    key = "incoming/cli/churn.csv"
    with arrivals_paused(runtime):
        runtime.cloud.client("s3").put_object(
            Bucket=runtime.data_bucket,
            Key=key,
            Body=generate_churn(1500, seed=3).to_csv(index=False).encode(),
        )
    runtime.settle()
    entry = _s3_event_entry(runtime, load_event, key)
    answer = aws_cli(runtime, "events", "put-events", "--entries", json.dumps([entry]))
    assert answer["FailedEntryCount"] == 0
    assert runtime.settle(60)
    started = [
        e.result
        for e in runtime.bus.timeline
        if e.target == "mlops-dev-data-arrival" and isinstance(e.result, dict)
    ]
    assert started and started[-1]["status"] == "started", started
    arn = started[-1]["execution_arn"]
    return Run(entry, arn, runtime.executor.wait(arn, 300))


def test_put_events_of_an_s3_sample_event_starts_training(cli_run, runtime):
    assert cli_run.status == "Succeeded", runtime.executor.failure_reason(cli_run.execution_arn)
    params = runtime.cloud.client("sagemaker").list_pipeline_parameters_for_execution(
        PipelineExecutionArn=cli_run.execution_arn
    )["PipelineParameters"]
    values = {p["Name"]: p["Value"] for p in params}
    assert values["TriggerEventType"] == "s3:ObjectCreated"
    assert values["DataManifestUri"].startswith(f"s3://{runtime.artifacts_bucket}/manifests/")


def test_the_same_event_again_starts_no_second_run(cli_run, runtime):
    sm = runtime.cloud.client("sagemaker")
    before = len(
        sm.list_pipeline_executions(PipelineName=runtime.training_pipeline, MaxResults=100)[
            "PipelineExecutionSummaries"
        ]
    )
    for _ in range(2):
        aws_cli(runtime, "events", "put-events", "--entries", json.dumps([cli_run.entry]))
    assert runtime.settle(60)
    after = sm.list_pipeline_executions(PipelineName=runtime.training_pipeline, MaxResults=100)[
        "PipelineExecutionSummaries"
    ]
    assert len(after) == before


def test_the_run_registers_a_model_with_its_lineage(cli_run, runtime):
    sm = runtime.cloud.client("sagemaker")
    described = sm.describe_pipeline_execution(PipelineExecutionArn=cli_run.execution_arn)
    assert described["PipelineExecutionStatus"] == "Succeeded"
    packages = sm.list_model_packages(ModelPackageGroupName=runtime.model_group)[
        "ModelPackageSummaryList"
    ]
    package = next(
        sm.describe_model_package(ModelPackageName=p["ModelPackageArn"])
        for p in packages
        if sm.describe_model_package(ModelPackageName=p["ModelPackageArn"])[
            "CustomerMetadataProperties"
        ]["PipelineExecutionArn"]
        == cli_run.execution_arn
    )
    lineage = package["CustomerMetadataProperties"]
    assert lineage["TriggerEventType"] == "s3:ObjectCreated"
    assert lineage["MetricName"] == "roc_auc" and float(lineage["MetricValue"]) >= 0.7
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    model_url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    execution_id = cli_run.execution_arn.rsplit("/", 1)[-1]
    assert model_url.startswith(f"s3://{runtime.artifacts_bucket}/pipelines/{execution_id}/model/")
    bucket, key = model_url[5:].split("/", 1)
    assert runtime.cloud.client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0


def test_steps_are_listed_with_metadata(cli_run, runtime):
    steps = runtime.cloud.client("sagemaker").list_pipeline_execution_steps(
        PipelineExecutionArn=cli_run.execution_arn
    )["PipelineExecutionSteps"]
    assert {s["StepName"] for s in steps} == TRAINING_STEPS
    assert all(s["StepStatus"] == "Succeeded" for s in steps), steps
    assert [s["StartTime"] for s in steps] == sorted((s["StartTime"] for s in steps), reverse=True)
    by_name = {s["StepName"]: s for s in steps}
    assert ":processing-job/pipelines-" in by_name["Validate"]["Metadata"]["ProcessingJob"]["Arn"]
    assert ":training-job/" in by_name["Train"]["Metadata"]["TrainingJob"]["Arn"]
    assert by_name["CheckMetric"]["Metadata"] == {"Condition": {"Outcome": "True"}}
    assert ":model-package/" in by_name["Register"]["Metadata"]["RegisterModel"]["Arn"]


def test_events_in_order_and_in_aws_shape(cli_run, runtime):
    events = [
        e
        for e in runtime.bus.delivered.values()
        if cli_run.execution_arn in json.dumps(e)
        and e["detail-type"] in (PIPELINE_EVENT, MODEL_PACKAGE_EVENT)
    ]
    kinds = [e["detail-type"] for e in events]
    assert kinds == [PIPELINE_EVENT, MODEL_PACKAGE_EVENT, PIPELINE_EVENT]
    started, registered, finished = events
    assert started["detail"]["currentPipelineExecutionStatus"] == "Executing"
    assert "previousPipelineExecutionStatus" not in started["detail"]
    assert finished["detail"]["currentPipelineExecutionStatus"] == "Succeeded"
    assert finished["detail"]["previousPipelineExecutionStatus"] == "Executing"
    assert finished["resources"][1] == cli_run.execution_arn
    assert finished["source"] == "aws.sagemaker" and finished["account"] == "123456789012"
    assert finished["detail"]["executionEndTime"].endswith("Z")
    assert registered["detail"]["ModelApprovalStatus"] == "PendingManualApproval"
    assert "UpdatedModelPackageFields" not in registered["detail"]
    assert registered["resources"] == [registered["detail"]["ModelPackageArn"]]


@dataclass
class BadRun:
    execution_arn: str
    packages_before: int


@pytest.fixture(scope="module")
def bad_run(cli_run, runtime) -> BadRun:
    """A run started by hand on data Validate refuses."""
    frame = generate_churn(300, 5)
    frame.loc[:, "contract"] = "lifetime"  # not one of the schema's categories
    prefix = f"incoming/{unique('bad')}/"
    with arrivals_paused(runtime):
        runtime.cloud.client("s3").put_object(
            Bucket=runtime.data_bucket,
            Key=f"{prefix}churn.csv",
            Body=frame.to_csv(index=False).encode(),
        )
    sm = runtime.cloud.client("sagemaker")
    before = len(
        sm.list_model_packages(ModelPackageGroupName=runtime.model_group)["ModelPackageSummaryList"]
    )
    arn = sm.start_pipeline_execution(
        PipelineName=runtime.training_pipeline,
        PipelineParameters=[
            {"Name": "InputDataUri", "Value": f"s3://{runtime.data_bucket}/{prefix}"}
        ],
    )["PipelineExecutionArn"]
    assert runtime.executor.wait(arn, 120) == "Failed"
    return BadRun(arn, before)


def test_bad_data_fails_validate_and_registers_nothing(bad_run, runtime):
    sm = runtime.cloud.client("sagemaker")
    arn = bad_run.execution_arn
    described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    assert "Validate" in described["FailureReason"] and "lifetime" in described["FailureReason"]
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [("Validate", "Failed")]
    after = sm.list_model_packages(ModelPackageGroupName=runtime.model_group)[
        "ModelPackageSummaryList"
    ]
    assert len(after) == bad_run.packages_before


def test_a_scheduled_run_reads_only_accepted_versions_and_its_lineage_names_them(
    cli_run, runtime, load_event
):
    """An object current under incoming/ while the run is decided and runs, but whose arrival
    check has not passed (here: it would be quarantined for an extra column), is not read;
    the lineage of the model names exactly the versions the run read."""
    s3 = runtime.cloud.client("s3")
    queued = f"incoming/{unique('queued')}/export.csv"
    with arrivals_paused(runtime):
        s3.put_object(
            Bucket=runtime.data_bucket,
            Key=queued,
            Body=generate_churn(400, seed=9).assign(exported_by="crm").to_csv(index=False).encode(),
        )
    tick = {**load_event("scheduled_event.json"), "id": unique("tick")}
    answer = runtime.cloud.client("lambda").invoke(
        FunctionName="mlops-dev-drift-retrain", Payload=json.dumps(tick)
    )
    started = json.loads(answer["Payload"].read())
    assert started["status"] == "started", started
    arn = started["execution_arn"]
    assert runtime.executor.wait(arn, 300) == "Succeeded", runtime.executor.failure_reason(arn)

    accepted = cli_run.entry_version
    package = package_of(runtime, arn)
    meta = package["CustomerMetadataProperties"]
    assert meta["TriggerEventType"] == "schedule"
    named = {(o.key, o.version_id) for o in trained_on(s3, meta)}
    assert named == {("incoming/cli/churn.csv", accepted)}
    execution_id = arn.rsplit("/", 1)[-1]
    report = json.loads(
        s3.get_object(
            Bucket=runtime.artifacts_bucket,
            Key=f"pipelines/{execution_id}/report/validation.json",
        )["Body"].read()
    )
    assert [f["path"] for f in report["files"]] == [
        f"s3://{runtime.data_bucket}/incoming/cli/churn.csv"
    ]


def test_an_unsupported_step_type_fails_naming_it(runtime):
    sm = runtime.cloud.client("sagemaker")
    name = unique("tuning")
    sm.create_pipeline(
        PipelineName=name,
        RoleArn=sm.describe_pipeline(PipelineName=runtime.training_pipeline)["RoleArn"],
        PipelineDefinition=json.dumps(
            {
                "Version": "2020-12-01",
                "Steps": [{"Name": "Tune", "Type": "Tuning", "Arguments": {}}],
            }
        ),
    )
    arn = sm.start_pipeline_execution(PipelineName=name)["PipelineExecutionArn"]
    assert runtime.executor.wait(arn, 30) == "Failed"
    assert "Tuning" in sm.describe_pipeline_execution(PipelineExecutionArn=arn)["FailureReason"]


def test_a_client_request_token_starts_one_execution(runtime):
    sm = runtime.cloud.client("sagemaker")
    name = unique("idempotent")
    sm.create_pipeline(
        PipelineName=name,
        RoleArn=sm.describe_pipeline(PipelineName=runtime.training_pipeline)["RoleArn"],
        PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
    )
    arns = {
        sm.start_pipeline_execution(PipelineName=name, ClientRequestToken="same-token-" + "0" * 24)[
            "PipelineExecutionArn"
        ]
        for _ in range(2)
    }
    assert len(arns) == 1
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.start_pipeline_execution(PipelineName=unique("missing"))


def test_expressions_resolve_like_sagemaker():
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


def test_status_and_runs_from_any_folder_read_the_stack_from_the_runtime(
    cli_run, bad_run, runtime, tmp_path, monkeypatch, capsys
):
    from mlops.cli import main

    for name, value in {"AWS_ACCESS_KEY_ID": "user", "AWS_SECRET_ACCESS_KEY": "secret"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no project folder here: the names come from the runtime
    url, region = runtime.cloud.endpoint_url, runtime.cloud.region
    failed = bad_run.execution_arn

    assert main(["status", "--endpoint-url", url, "--region", region]) == 0
    out = capsys.readouterr().out
    assert f"the stack deployed at the local runtime {url}" in out
    failed_id, succeeded_id = failed.rsplit("/", 1)[-1], cli_run.execution_arn.rsplit("/", 1)[-1]
    line = next(x for x in out.splitlines() if failed_id in x)
    assert "Failed at Validate: " in line and "lifetime" in line
    assert out.index(failed_id) < out.index(succeeded_id)  # newest first

    assert main(["runs", "--endpoint-url", url, "--region", region, "--json"]) == 0
    records = {r["execution_arn"]: r for r in json.loads(capsys.readouterr().out)}
    arrival = records[cli_run.execution_arn]
    assert (arrival["trigger"], arrival["manifest_objects"]) == ("s3:ObjectCreated", 1)
    assert arrival["outcome"].startswith("Succeeded, registered ")
    assert records[failed]["failed_step"] == "Validate"
    # Started by hand with no trigger and no manifest: none is claimed.
    assert (records[failed]["trigger"], records[failed]["manifest_objects"]) == ("-", None)
