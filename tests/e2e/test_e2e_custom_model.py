"""A user's own model file through the whole local loop: the example config
(examples/custom_model/) synthesized, an upload trains it from the code bundle, the registry
gets its metric with sample size and interval, an approval serves it, and the endpoint answers
with the model's own class, through the same inference code."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from emulator.bus import EXACTLY_ONCE
from emulator.runtime import LocalRuntime, SynthesizedStack
from mlops.lineage import lineage, render
from pipelines.datasets import generate_churn
from pipelines.steps import inference

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_model" / "config.json"


@pytest.fixture(scope="module")
def served(synthesize, tmp_path_factory):
    """One loop: upload, train, register, approve, serve."""
    built = synthesize("custom-model", json.loads(EXAMPLE.read_text()))
    stack = SynthesizedStack(built.name, built.raw, built.outdir)
    scratch = tmp_path_factory.mktemp("custom-model")
    with LocalRuntime(
        stack=stack, scratch_dir=scratch, time_scale=0.002, delivery=EXACTLY_ONCE
    ) as runtime:
        sm = runtime.cloud.client("sagemaker")
        runtime.cloud.client("s3").put_object(
            Bucket=runtime.data_bucket,
            Key="incoming/churn.csv",
            Body=generate_churn(1500, seed=7).to_csv(index=False).encode(),
        )
        assert runtime.settle(60)
        executions = sm.list_pipeline_executions(PipelineName=runtime.training_pipeline)[
            "PipelineExecutionSummaries"
        ]
        assert len(executions) == 1, executions
        arn = executions[0]["PipelineExecutionArn"]
        status = runtime.executor.wait(arn, 300)
        assert status == "Succeeded", runtime.executor.failure_reason(arn)
        package_arn = sm.list_model_packages(ModelPackageGroupName=runtime.model_group)[
            "ModelPackageSummaryList"
        ][0]["ModelPackageArn"]
        package = sm.describe_model_package(ModelPackageName=package_arn)
        sm.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus="Approved")
        assert runtime.bus.drain(timeout=30)
        assert runtime.endpoints.wait(runtime.endpoint_name, timeout=120) == "InService"
        assert runtime.bus.drain(timeout=30)
        yield runtime, package, scratch


def _archive(runtime, package, dest: Path) -> Path:
    url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    bucket, key = url[len("s3://") :].split("/", 1)
    body = runtime.cloud.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")
    return dest


def test_the_users_module_was_trained_and_shipped_in_the_model(served):
    runtime, package, scratch = served
    model_dir = _archive(runtime, package, scratch / "archive")
    metadata = json.loads((model_dir / "metadata.json").read_text())
    assert metadata["entry_point"] == "user_model.churn_ensemble" and metadata["algorithm"] is None
    assert metadata["params"] == {"C": 0.5, "n_estimators": 60, "min_samples_leaf": 5}
    shipped = (model_dir / "code" / "user_model" / "churn_ensemble.py").read_text()
    assert shipped == (EXAMPLE.parent / "churn_ensemble.py").read_text()


def test_the_registered_metric_carries_its_sample_size_and_interval(served):
    _, package, _ = served
    lineage = package["CustomerMetadataProperties"]
    value, lower, upper = (
        float(lineage[k]) for k in ("MetricValue", "MetricLowerBound", "MetricUpperBound")
    )
    assert lineage["MetricName"] == "roc_auc" and lower < value < upper
    # 1500 rows, 15% held out for the test split.
    assert lineage["MetricSampleSize"] == "225"
    assert (lineage["MetricGate"], lineage["MetricConfidence"]) == ("lower_bound", "0.95")
    assert lower >= 0.7  # the gate passed on the lower bound, the config's threshold


def test_the_endpoint_serves_the_users_class_through_the_same_inference_code(served):
    runtime, package, scratch = served
    rows = generate_churn(5, seed=21).drop(columns=["churned"])
    answer = runtime.cloud.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=runtime.endpoint_name,
        ContentType="text/csv",
        Accept="application/json",
        Body=rows.to_csv(index=False, header=False).encode(),
    )
    predictions = json.loads(answer["Body"].read())["predictions"]
    model = inference.model_fn(str(_archive(runtime, package, scratch / "local")))
    assert type(model["estimator"]).__name__ == "AveragedProbabilities"
    expected = inference.predict_fn(inference.input_fn(rows.to_csv(index=False), "text/csv"), model)
    assert [p["score"] for p in predictions] == pytest.approx([p["score"] for p in expected])
    assert all(set(p["probabilities"]) == {"0", "1"} for p in predictions)


def test_lineage_shows_how_far_to_trust_the_metric(served):
    runtime, package, _ = served
    meta = package["CustomerMetadataProperties"]
    text = render(
        lineage(
            s3=runtime.cloud.client("s3"),
            sagemaker=runtime.cloud.client("sagemaker"),
            artifacts_bucket=runtime.artifacts_bucket,
            endpoint_name=runtime.endpoint_name,
        )
    )
    assert (
        f"metric   roc_auc = {meta['MetricValue']} on 225 test rows, 95% interval "
        f"{meta['MetricLowerBound']} to {meta['MetricUpperBound']}"
    ) in text
