"""The endpoint host serves the registered model through boto3's sagemaker-runtime client."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from sagemaker_fixtures import Cloud, Events, Run, dev_config

from emulator.endpoints import ENDPOINT_EVENT, EndpointBusy, EndpointHost, Fleet, _Endpoint
from pipelines.datasets import generate_churn
from pipelines.steps.capture import parse_capture_lines

ROLLBACK_ALARM = "rollback-5xx"


@dataclass
class Deployed:
    host: EndpointHost
    events: Events
    alarms: dict[str, str]
    name: str
    configs: list[str] = field(default_factory=list)


def _config(cloud: Cloud, run: Run, suffix: str) -> str:  # noqa: F811
    """create_model + create_endpoint_config from the registered package, as the deploy Lambda."""
    sm = cloud.client("sagemaker")
    package_arn = sm.list_model_packages(ModelPackageGroupName=cloud.group)[
        "ModelPackageSummaryList"
    ][0]["ModelPackageArn"]
    container = sm.describe_model_package(ModelPackageName=package_arn)["InferenceSpecification"][
        "Containers"
    ][0]
    name = f"{cloud.prefix}-{suffix}"
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=cloud.role_arn,
        PrimaryContainer={
            "Image": container["Image"],
            "ModelDataUrl": container["ModelDataUrl"],
            "Environment": container.get("Environment", {}),
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
                "InitialVariantWeight": 1.0,
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": f"s3://{cloud.data_bucket}/capture",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {
                "CsvContentTypes": ["text/csv"],
                "JsonContentTypes": ["application/json"],
            },
        },
    )
    return name


@pytest.fixture(scope="module")
def deployed(
    cloud: Cloud,
    good_run: Run,
    tmp_path_factory: pytest.TempPathFactory,  # noqa: F811
) -> Iterator[Deployed]:
    assert good_run.status == "Succeeded"
    events = Events()
    alarms: dict[str, str] = {}
    host = EndpointHost(
        endpoint_url=cloud.url,
        scratch_dir=tmp_path_factory.mktemp("serve"),
        emit=events,
        alarm_state=lambda n: alarms.get(n, "OK"),
        time_scale=0.002,
        capture_batch=1000,
    )
    config = _config(cloud, good_run, "v1")
    cloud.client("sagemaker").create_endpoint(
        EndpointName=cloud.endpoint_name, EndpointConfigName=config
    )
    host.apply(
        endpoint_name=cloud.endpoint_name, endpoint_config_name=config, deployment_config=None
    )
    assert host.wait(cloud.endpoint_name, 60) == "InService"
    try:
        yield Deployed(host, events, alarms, cloud.endpoint_name, [config])
    finally:
        host.close()


def _runtime(host: EndpointHost) -> object:
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=host.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _rows(n: int) -> str:
    frame = generate_churn(n, seed=11).drop(columns=["churned"])
    return frame.to_csv(index=False, header=False)


def test_create_serves_and_moto_agrees(deployed: Deployed, cloud: Cloud) -> None:  # noqa: F811
    described = cloud.client("sagemaker").describe_endpoint(EndpointName=deployed.name)
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == deployed.configs[0]
    first, second = deployed.events.of(ENDPOINT_EVENT)[:2]
    assert first["detail"]["EndpointStatus"] == "CREATING"
    assert second["detail"]["EndpointStatus"] == "IN_SERVICE"
    assert second["detail"]["EndpointConfigName"] == deployed.configs[0]
    assert second["resources"] == [second["detail"]["EndpointArn"]]
    assert second["detail"]["ProductionVariants"][0]["VariantName"] == "AllTraffic"


def test_invoke_csv_and_json(deployed: Deployed) -> None:
    runtime = _runtime(deployed.host)
    out = runtime.invoke_endpoint(
        EndpointName=deployed.name, ContentType="text/csv", Accept="text/csv", Body=_rows(5)
    )
    assert out["ContentType"] == "text/csv"
    assert out["InvokedProductionVariant"] == "AllTraffic"
    lines = out["Body"].read().decode().strip().splitlines()
    assert len(lines) == 5
    for line in lines:
        label, score = line.split(",")
        assert label in ("0", "1") and 0.0 <= float(score) <= 1.0
    record = generate_churn(1, seed=2).drop(columns=["churned"]).to_dict(orient="records")[0]
    out = runtime.invoke_endpoint(
        EndpointName=deployed.name,
        ContentType="application/json",
        Body=json.dumps({"instances": [record]}),
    )
    assert out["ContentType"] == "application/json"
    assert len(json.loads(out["Body"].read())["predictions"]) == 1


def test_errors_follow_the_runtime_contract(deployed: Deployed) -> None:
    runtime = _runtime(deployed.host)
    with pytest.raises(ClientError) as bad:
        runtime.invoke_endpoint(EndpointName=deployed.name, ContentType="text/csv", Body="1,2,3\n")
    assert bad.value.response["Error"]["Code"] == "ModelError"
    assert bad.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "expected 8 values" in bad.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as unknown:
        runtime.invoke_endpoint(EndpointName="nope", ContentType="text/csv", Body=_rows(1))
    assert unknown.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_capture_round_trips_through_the_monitor_parser(
    deployed: Deployed,
    cloud: Cloud,  # noqa: F811
) -> None:
    runtime = _runtime(deployed.host)
    sent = _rows(7)
    runtime.invoke_endpoint(EndpointName=deployed.name, ContentType="text/csv", Body=sent)
    deployed.host.flush()
    s3 = cloud.client("s3")
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=cloud.data_bucket, Prefix=f"capture/{deployed.name}/")[
            "Contents"
        ]
    ]
    pattern = rf"capture/{deployed.name}/AllTraffic/\d{{4}}/\d\d/\d\d/\d\d/[^/]+\.jsonl"
    assert keys and all(re.fullmatch(pattern, k) for k in keys), keys
    lines = [
        line
        for k in keys
        for line in s3.get_object(Bucket=cloud.data_bucket, Key=k)["Body"]
        .read()
        .decode()
        .splitlines()
    ]
    schema = dev_config()["dataset"]
    features = [f["name"] for f in schema["features"]]
    kinds = {f["name"]: f["type"] for f in schema["features"]}
    now = datetime.now(UTC)
    parsed = parse_capture_lines(
        lines, features, kinds, start=now - timedelta(hours=1), end=now + timedelta(minutes=1)
    )
    assert parsed.n_skipped == 0, parsed.errors
    # Earlier tests' successful requests are captured too; the failed one (400) is not.
    assert len(parsed.frame) >= 7 and parsed.n_events == len(lines)
    assert all('"mode":"OUTPUT"' in line for line in lines)


def test_metrics_reach_cloudwatch(deployed: Deployed, cloud: Cloud) -> None:  # noqa: F811
    now = datetime.now(UTC)
    stats = cloud.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="Invocations",
        Statistics=["Sum"],
        Period=3600,
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=5),
        Dimensions=[
            {"Name": "EndpointName", "Value": deployed.name},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ],
    )
    assert sum(p["Sum"] for p in stats["Datapoints"]) >= 3


def _blue_green(seconds: int) -> dict:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
                "WaitIntervalInSeconds": seconds,
            }
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": ROLLBACK_ALARM}]},
    }


def test_alarm_during_canary_rolls_back_silently(
    deployed: Deployed,
    cloud: Cloud,
    good_run: Run,  # noqa: F811
) -> None:
    new = _config(cloud, good_run, "v2")
    deployed.alarms[ROLLBACK_ALARM] = "ALARM"
    before = len(deployed.events.of(ENDPOINT_EVENT))
    deployed.host.apply(
        endpoint_name=deployed.name, endpoint_config_name=new, deployment_config=_blue_green(300)
    )
    with pytest.raises(EndpointBusy):
        deployed.host.apply(
            endpoint_name=deployed.name, endpoint_config_name=new, deployment_config=None
        )
    assert deployed.host.wait(deployed.name, 60) == "InService"
    updating, settled = deployed.events.of(ENDPOINT_EVENT)[before:]
    assert updating["detail"]["EndpointStatus"] == "UPDATING"
    assert settled["detail"]["EndpointStatus"] == "IN_SERVICE"
    assert settled["detail"]["EndpointConfigName"] == deployed.configs[0]
    assert ROLLBACK_ALARM in settled["detail"]["FailureReason"]
    described = cloud.client("sagemaker").describe_endpoint(EndpointName=deployed.name)
    assert described["EndpointConfigName"] == deployed.configs[0]
    assert deployed.host.serving_config(deployed.name) == deployed.configs[0]
    deployed.configs.append(new)


def test_quiet_canary_shifts_to_green(deployed: Deployed, cloud: Cloud) -> None:  # noqa: F811
    new = deployed.configs[-1]
    deployed.alarms[ROLLBACK_ALARM] = "OK"
    before = len(deployed.events.of(ENDPOINT_EVENT))
    deployed.host.apply(
        endpoint_name=deployed.name, endpoint_config_name=new, deployment_config=_blue_green(100)
    )
    assert deployed.host.wait(deployed.name, 60) == "InService"
    settled = deployed.events.of(ENDPOINT_EVENT)[before:][-1]
    assert settled["detail"]["EndpointConfigName"] == new
    assert "FailureReason" not in settled["detail"]
    described = cloud.client("sagemaker").describe_endpoint(EndpointName=deployed.name)
    assert (described["EndpointConfigName"], described["EndpointStatus"]) == (new, "InService")
    out = _runtime(deployed.host).invoke_endpoint(
        EndpointName=deployed.name, ContentType="text/csv", Accept="text/csv", Body=_rows(2)
    )
    assert len(out["Body"].read().decode().strip().splitlines()) == 2


def test_canary_routes_exactly_its_share() -> None:
    blue = Fleet("blue", [], None)
    green = Fleet("green", [], None)
    endpoint = _Endpoint("e", "arn", datetime.now(UTC), blue=blue, green=green, green_percent=10.0)
    picks = [endpoint.route().config_name for _ in range(100)]  # type: ignore[union-attr]
    assert picks.count("green") == 10
