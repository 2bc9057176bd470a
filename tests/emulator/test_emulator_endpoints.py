"""Endpoints through SageMaker's own API on the runtime's URL: create, update with a canary,
InvokeEndpoint with AWS's status codes and errors, capture, metrics."""

from __future__ import annotations

import io
import re
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from conftest import unique, wait_for

from emulator.aws_events import ENDPOINT_EVENT
from emulator.endpoints import Fleet, _Endpoint
from infra.config import load_config
from pipelines.datasets import generate_churn
from pipelines.model_spec import ModelSpec
from pipelines.steps.capture import parse_capture_lines
from pipelines.steps.tabular import to_typed
from pipelines.steps.train import fit_model, model_metadata, save_model

# A served model the way the inference toolkit expects one: an exception that carries a
# status_code is answered with it, any other exception with a 500.
INFERENCE = """
class ClientMistake(Exception):
    def __init__(self, message, status_code=400):
        super().__init__(message)
        self.status_code = status_code

def model_fn(model_dir):
    return {"label": "1"}

def input_fn(body, content_type):
    if content_type != "text/csv":
        raise ClientMistake(f"unsupported content type {content_type}", 415)
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    rows = [line.split(",") for line in text.strip().splitlines()]
    for row in rows:
        if len(row) != 8:
            raise ClientMistake(f"expected 8 values, got {len(row)}")
    return rows

def predict_fn(rows, model):
    if rows[0][0] == "boom":
        raise RuntimeError("the model has a bug")
    return [(model["label"], 0.75) for _ in rows]

def output_fn(predictions, accept):
    return "\\n".join(f"{label},{score}" for label, score in predictions), "text/csv"
"""


def _artifact() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        data = INFERENCE.encode()
        info = tarfile.TarInfo("code/inference.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return raw.getvalue()


@dataclass
class Served:
    name: str
    configs: list[str]
    alarm: str


def _config(runtime, *, model_url: str | None = None) -> str:
    sm = runtime.cloud.client("sagemaker")
    name = unique("probe")
    if model_url is None:
        # Where training writes models: the model role may read only there.
        key = f"pipelines/{name}/model/model.tar.gz"
        runtime.cloud.client("s3").put_object(
            Bucket=runtime.artifacts_bucket, Key=key, Body=_artifact()
        )
        model_url = f"s3://{runtime.artifacts_bucket}/{key}"
    role = runtime.function_env("deploy").get("SAGEMAKER_ROLE_ARN") or runtime.function_env(
        "deploy"
    ).get("MODEL_ROLE_ARN")
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=role,
        PrimaryContainer={
            "Image": "sklearn:1.2",
            "ModelDataUrl": model_url,
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.t2.medium",
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": f"s3://{runtime.data_bucket}/capture",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    return name


def _events(runtime, endpoint: str) -> list[dict]:
    return [
        e
        for e in runtime.bus.delivered.values()
        if e["detail-type"] == ENDPOINT_EVENT and e["detail"]["EndpointName"] == endpoint
    ]


@pytest.fixture(scope="module")
def served(runtime) -> Served:
    sm = runtime.cloud.client("sagemaker")
    config = _config(runtime)
    name = unique("endpoint")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] in ("Creating", "InService")
    assert runtime.endpoints.wait(name, 60) == "InService"
    alarm = unique("rollback")
    runtime.cloud.client("cloudwatch").put_metric_alarm(
        AlarmName=alarm,
        Namespace="Probe",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    return Served(name, [config], alarm)


def _metric_total(runtime, endpoint: str, metric: str) -> float:
    """The endpoint's AWS/SageMaker metric summed over the last hour."""
    dims = [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    now = datetime.now(UTC)
    points = runtime.metrics.points(
        "AWS/SageMaker", metric, dims, now - timedelta(hours=1), now + timedelta(minutes=1)
    )
    return sum(v for _, v in points)


def _runtime_client(runtime):
    return runtime.cloud.client("sagemaker-runtime")


def _rows(n: int) -> str:
    return generate_churn(n, seed=11).drop(columns=["churned"]).to_csv(index=False, header=False)


def test_create_goes_creating_then_in_service(runtime, served):
    runtime.settle()
    described = runtime.cloud.client("sagemaker").describe_endpoint(EndpointName=served.name)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == (
        "InService",
        served.configs[0],
    )
    statuses = [e["detail"]["EndpointStatus"] for e in _events(runtime, served.name)]
    assert statuses[:2] == ["CREATING", "IN_SERVICE"]
    listed = runtime.cloud.client("sagemaker").list_endpoints(NameContains=served.name)["Endpoints"]
    assert [e["EndpointName"] for e in listed] == [served.name]


def test_invoke_answers_through_the_same_url(runtime, served):
    out = _runtime_client(runtime).invoke_endpoint(
        EndpointName=served.name, ContentType="text/csv", Accept="text/csv", Body=_rows(5)
    )
    assert out["ContentType"] == "text/csv" and out["InvokedProductionVariant"] == "AllTraffic"
    assert out["Body"].read().decode().splitlines() == ["1,0.75"] * 5


@pytest.mark.parametrize(
    ("body", "content_type", "original"),
    [
        ("1,2,3\n", "text/csv", 400),
        ("{}", "application/json", 415),
        ("boom" + ",x" * 7, "text/csv", 500),
    ],
)
def test_a_models_error_is_a_model_error(runtime, served, body, content_type, original):
    client = _runtime_client(runtime)
    with pytest.raises(client.exceptions.ModelError) as error:
        client.invoke_endpoint(EndpointName=served.name, ContentType=content_type, Body=body)
    response = error.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == original
    assert "from primary" in response["Error"]["Message"]


def test_an_unknown_endpoint_is_a_validation_error(runtime):
    client = _runtime_client(runtime)
    with pytest.raises(client.exceptions.ValidationError) as error:
        client.invoke_endpoint(EndpointName="nowhere", ContentType="text/csv", Body="1")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_body_over_6_mb_is_refused(runtime, served):
    with pytest.raises(ClientError) as error:
        _runtime_client(runtime).invoke_endpoint(
            EndpointName=served.name, ContentType="text/csv", Body=b"1" * (6 * 1024 * 1024 + 1)
        )
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_client_mistakes_never_count_as_the_endpoints_5xx(runtime):
    config = _config(runtime)
    name = unique("counted")
    runtime.cloud.client("sagemaker").create_endpoint(EndpointName=name, EndpointConfigName=config)
    assert runtime.endpoints.wait(name, 60) == "InService"
    client = _runtime_client(runtime)
    for body, content_type in (
        ("1,2\n", "text/csv"),
        ("1,2,3\n", "text/csv"),
        ("{}", "application/json"),
    ):
        with pytest.raises(ClientError):
            client.invoke_endpoint(EndpointName=name, ContentType=content_type, Body=body)
    with pytest.raises(ClientError):
        client.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body="boom" + ",x" * 7)

    def total(metric: str) -> float:
        return _metric_total(runtime, name, metric)

    assert total("Invocation4XXErrors") == 3
    assert total("Invocation5XXErrors") == 1
    assert total("Invocations") == 4


def test_capture_round_trips_through_the_monitor_parser(runtime, served):
    sent = _rows(7)
    _runtime_client(runtime).invoke_endpoint(
        EndpointName=served.name, ContentType="text/csv", Body=sent
    )
    runtime.endpoints.flush()
    s3 = runtime.cloud.client("s3")
    listing = s3.list_objects_v2(Bucket=runtime.data_bucket, Prefix=f"capture/{served.name}/")
    keys = [o["Key"] for o in listing["Contents"]]
    pattern = rf"capture/{served.name}/AllTraffic/\d{{4}}/\d\d/\d\d/\d\d/[^/]+\.jsonl"
    assert keys and all(re.fullmatch(pattern, k) for k in keys), keys
    lines = [
        line
        for k in keys
        for line in s3.get_object(Bucket=runtime.data_bucket, Key=k)["Body"]
        .read()
        .decode()
        .splitlines()
    ]
    dataset = load_config(Path(__file__).resolve().parents[2] / "config" / "dev.json").dataset
    features = [f.name for f in dataset.features]
    kinds = {f.name: f.type for f in dataset.features}
    now = datetime.now(UTC)
    parsed = parse_capture_lines(
        lines, features, kinds, start=now - timedelta(hours=1), end=now + timedelta(minutes=1)
    )
    assert parsed.n_skipped == 0, parsed.errors
    assert len(parsed.frame) >= 7 and parsed.n_events == len(lines)


def _blue_green(alarm: str, seconds: int) -> dict:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "ALL_AT_ONCE",
                "WaitIntervalInSeconds": seconds,
            }
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]},
    }


def test_an_alarm_during_the_update_rolls_back_silently(runtime, served):
    sm = runtime.cloud.client("sagemaker")
    new = _config(runtime)
    runtime.cloud.client("cloudwatch").set_alarm_state(
        AlarmName=served.alarm, StateValue="ALARM", StateReason="test"
    )
    before = len(_events(runtime, served.name))
    sm.update_endpoint(
        EndpointName=served.name,
        EndpointConfigName=new,
        DeploymentConfig=_blue_green(served.alarm, 600),
    )
    with pytest.raises(ClientError, match="in-progress"):
        sm.update_endpoint(EndpointName=served.name, EndpointConfigName=new)
    assert runtime.endpoints.wait(served.name, 60) == "InService"
    runtime.settle()
    updating, settled = _events(runtime, served.name)[before:]
    assert updating["detail"]["EndpointStatus"] == "UPDATING"
    assert settled["detail"]["EndpointStatus"] == "IN_SERVICE"
    assert settled["detail"]["EndpointConfigName"] == served.configs[0]
    assert served.alarm in settled["detail"]["FailureReason"]
    assert sm.describe_endpoint(EndpointName=served.name)["EndpointConfigName"] == served.configs[0]
    runtime.cloud.client("cloudwatch").set_alarm_state(
        AlarmName=served.alarm, StateValue="OK", StateReason="test"
    )


def test_a_quiet_update_shifts_to_the_new_config(runtime, served):
    sm = runtime.cloud.client("sagemaker")
    new = _config(runtime)
    sm.update_endpoint(
        EndpointName=served.name,
        EndpointConfigName=new,
        DeploymentConfig=_blue_green(served.alarm, 60),
    )
    assert runtime.endpoints.wait(served.name, 60) == "InService"
    described = sm.describe_endpoint(EndpointName=served.name)
    assert (described["EndpointConfigName"], described["EndpointStatus"]) == (new, "InService")
    served.configs.append(new)


def test_a_failed_endpoint_must_be_deleted_and_created_again(runtime):
    sm = runtime.cloud.client("sagemaker")
    broken = _config(runtime, model_url=f"s3://{runtime.artifacts_bucket}/missing/model.tar.gz")
    name = unique("failing")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=broken)
    assert runtime.endpoints.wait(name, 60) == "Failed"
    assert "cannot unpack" in sm.describe_endpoint(EndpointName=name)["FailureReason"]
    with pytest.raises(ClientError, match="Failed"):
        sm.update_endpoint(EndpointName=name, EndpointConfigName=_config(runtime))
    sm.delete_endpoint(EndpointName=name)
    wait_for(lambda: not sm.list_endpoints(NameContains=name)["Endpoints"], 30, "the delete")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=_config(runtime))
    assert runtime.endpoints.wait(name, 60) == "InService"


def test_canary_routes_exactly_its_share():
    blue, green = Fleet("blue", [], None), Fleet("green", [], None)
    now = datetime.now(UTC)
    endpoint = _Endpoint(
        "e", "arn", "blue", now, now, {}, blue=blue, green=green, green_percent=10.0
    )
    picks = [endpoint.route().config_name for _ in range(100)]  # type: ignore[union-attr]
    assert picks.count("green") == 10


@pytest.fixture(scope="module")
def churn_served(runtime, tmp_path_factory) -> str:
    """An endpoint serving a trained churn model with the project's own inference.py."""
    schema = load_config(Path(__file__).resolve().parents[2] / "config" / "dev.json").dataset
    frame = to_typed(generate_churn(400, seed=5).astype(str).replace("nan", None), schema)
    params = ModelSpec(hyperparameters={"max_iter": 10})
    model_dir = tmp_path_factory.mktemp("churn-model")
    save_model(fit_model(frame, schema, params), model_metadata(schema, params), model_dir)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        archive.add(model_dir, arcname=".")
    key = f"pipelines/{unique('churn')}/model/model.tar.gz"  # readable by the model role
    runtime.cloud.client("s3").put_object(
        Bucket=runtime.artifacts_bucket, Key=key, Body=raw.getvalue()
    )
    config = _config(runtime, model_url=f"s3://{runtime.artifacts_bucket}/{key}")
    name = unique("churn")
    runtime.cloud.client("sagemaker").create_endpoint(EndpointName=name, EndpointConfigName=config)
    assert runtime.endpoints.wait(name, 60) == "InService"
    return name


def test_malformed_requests_to_the_real_model_are_4xx_not_5xx(runtime, churn_served):
    client = _runtime_client(runtime)
    malformed = [
        ("[" * 50_000 + "]" * 50_000, "application/json", 400, "nested more than 5 levels"),
        ('{"instances": [[1' + "0" * 400 + "]]}", "application/json", 400, "does not fit a float"),
        ("1,2,3\n", "text/csv", 400, "expected 8 values per row"),
        (b"\xff\xfe1,2\n", "text/csv", 400, "not valid UTF-8"),
        ("1,2", "application/x-parquet", 415, "unsupported content type"),
        ('[{"age": 41}]', "text/csv", 400, "the body is JSON but was sent as text/csv"),
        (
            "1,51.59,1,forty,36.3,one-year,wallet,west",
            "text/csv",
            400,
            "row 0, feature age: 'forty' is not a number",
        ),
        (
            '[[1, 51.59, 1, 41, 36.3, "one-year", "wallet", "mars"]]',
            "application/json",
            400,
            "row 0, feature region: 'mars' is not a category of the model",
        ),
    ]
    for body, content_type, status, message in malformed:
        with pytest.raises(client.exceptions.ModelError) as error:
            client.invoke_endpoint(EndpointName=churn_served, ContentType=content_type, Body=body)
        response = error.value.response
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
        assert (response["OriginalStatusCode"], message in response["OriginalMessage"]) == (
            status,
            True,
        ), response["OriginalMessage"]
    good = client.invoke_endpoint(
        EndpointName=churn_served, ContentType="text/csv", Accept="text/csv", Body=_rows(2)
    )
    assert len(good["Body"].read().decode().splitlines()) == 2

    def total(metric: str) -> float:
        return _metric_total(runtime, churn_served, metric)

    # The rollback alarm watches Invocation5XXErrors: client mistakes must leave it at zero.
    assert total("Invocation5XXErrors") == 0
    assert total("Invocation4XXErrors") == len(malformed)
    assert total("InvocationModelErrors") == len(malformed)
    assert total("Invocations") == len(malformed) + 1
