"""The four Lambdas: current runtime, Powertools, tracing, the contract env, no lost events."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from infra.names import FUNCTIONS as FUNCTION_NAMES
from infra.names import kebab

REPO = Path(__file__).resolve().parents[2]

FUNCTIONS = tuple(kebab(name) for name in FUNCTION_NAMES)


def _function(dev, short_name: str) -> tuple[str, dict]:
    wanted = f"{dev.config.prefix}-{short_name}"
    for logical_id, resource in dev.resources("AWS::Lambda::Function").items():
        if resource["Properties"]["FunctionName"] == wanted:
            return logical_id, resource["Properties"]
    raise AssertionError(f"no function {wanted}")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_runtime_tracing_and_handler_with_no_layer(dev, name):
    _, props = _function(dev, name)
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["x86_64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Handler"] == f"functions.{name.replace('-', '_')}.handler.lambda_handler"
    # A published layer's ARN differs by partition and region and does not name its release.
    assert "Layers" not in props


def _pin(package: str) -> str:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    for line in pyproject["project"]["dependencies"]:
        match = re.fullmatch(rf"{package}(\[[^\]]*\])?==(?P<version>\S+)", line)
        if match:
            return match["version"]
    raise AssertionError(f"pyproject.toml does not pin {package}")


def test_lambda_package_carries_the_pinned_powertools_built_for_the_runtime(dev):
    _, props = _function(dev, "deploy")
    asset = dev.outdir / f"asset.{props['Code']['S3Key'].removesuffix('.zip')}"
    version_file = (asset / "aws_lambda_powertools/shared/version.py").read_text()
    assert f'VERSION = "{_pin("aws-lambda-powertools")}"' in version_file
    assert (asset / f"pydantic-{_pin('pydantic')}.dist-info").is_dir()
    # pydantic's compiled core must be the one Lambda's python3.14 on x86_64 can load.
    assert list((asset / "pydantic_core").glob("*.cpython-314-x86_64-linux-gnu.so"))
    assert (asset / "aws_xray_sdk").is_dir() and (asset / "functions/deploy/handler.py").is_file()
    # The runtime's AWS SDK is used as is: a second copy would shadow it.
    assert not any((asset / name).exists() for name in ("boto3", "botocore", "s3transfer"))


def test_data_arrival_knows_the_schema_columns_and_limits(dev):
    _, props = _function(dev, "data-arrival")
    env = props["Environment"]["Variables"]
    assert json.loads(env["SCHEMA_COLUMNS"]) == list(dev.config.dataset.columns)
    assert int(env["MAX_OBJECT_BYTES"]) == dev.config.data.max_object_mb * 1024 * 1024
    data = dev.config.data
    assert int(env["MAX_UNCOMPRESSED_BYTES"]) == data.max_uncompressed_mb * 1024 * 1024
    assert int(env["MAX_DECOMPRESSION_RATIO"]) == data.max_decompression_ratio
    assert json.loads(env["ALLOWED_EXTENSIONS"]) == [".csv", ".parquet"]
    assert env["INCOMING_PREFIX"] == "incoming/"


def test_deploy_captures_where_the_monitoring_pipeline_reads(dev):
    _, props = _function(dev, "deploy")
    capture = dev.resolved(props["Environment"]["Variables"]["CAPTURE_S3_URI"])
    data_bucket = dev.resolved(
        _function(dev, "data-arrival")[1]["Environment"]["Variables"]["DATA_BUCKET"]
    )
    # SageMaker writes <this>/<endpoint>/<variant>/...; docs/contracts.md: capture/<endpoint>/...
    assert capture == f"s3://{data_bucket}/capture"


def test_deploy_rolls_back_on_the_endpoint_alarms(dev):
    _, props = _function(dev, "deploy")
    names = json.loads(dev.resolved(props["Environment"]["Variables"]["ROLLBACK_ALARM_NAMES"]))
    prefix = dev.config.prefix
    assert names == [f"{prefix}-endpoint-5xx", f"{prefix}-endpoint-p99-latency"]
    alarm_names = {
        a["Properties"]["AlarmName"] for a in dev.resources("AWS::CloudWatch::Alarm").values()
    }
    assert set(names) <= alarm_names


@pytest.mark.parametrize("name", FUNCTIONS)
def test_failed_async_invocations_reach_the_failure_queue(dev, name):
    logical_id, _ = _function(dev, name)
    queue_id = next(iter(dev.resources("AWS::SQS::Queue")))
    dev.template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": logical_id},
            "MaximumRetryAttempts": 2,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
        },
    )


@pytest.mark.parametrize("stage_name", ["dev", "prod"])
def test_no_function_reserves_concurrency_by_default(request, stage_name):
    # A new account (a concurrency limit of 10) cannot reserve any: the deploy would fail.
    stage = request.getfixturevalue(stage_name)
    for name in FUNCTIONS:
        assert "ReservedConcurrentExecutions" not in _function(stage, name)[1], name


def test_reserved_concurrency_when_the_config_turns_it_on(widest):
    concurrency = {
        name: _function(widest, name)[1].get("ReservedConcurrentExecutions") for name in FUNCTIONS
    }
    # Only the bursty arrivals queue; deploy and drift_retrain serialise with conditional writes.
    assert concurrency == {
        "data-arrival": widest.config.functions.data_arrival_concurrency,
        "pipeline-events": None,
        "deploy": None,
        "drift-retrain": None,
    }


@pytest.mark.parametrize("stage_name", ["dev", "prod", "widest"])
def test_every_function_environment_fits_lambdas_4_kb(request, stage_name):
    # https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: 4 KB for all of
    # a function's variables; the widest config lists the most columns and drift alarms.
    stage = request.getfixturevalue(stage_name)
    for name in FUNCTIONS:
        env = stage.resolved(_function(stage, name)[1]["Environment"]["Variables"])
        assert len(json.dumps(env).encode()) <= 4096, name


def test_failure_queue_is_encrypted_and_ssl_only(dev):
    dev.template.has_resource_properties(
        "AWS::SQS::Queue", {"KmsMasterKeyId": Match.any_value(), "MessageRetentionPeriod": 1209600}
    )
    dev.template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_function_logs_are_encrypted_and_retained(dev):
    groups = dev.resources("AWS::Logs::LogGroup")
    assert len(groups) == len(FUNCTIONS)
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 90
        assert "KmsKeyId" in group["Properties"]


def test_data_arrival_has_the_cpu_to_decompress_its_largest_gzip_in_time(dev):
    function = next(
        f["Properties"]
        for f in dev.resources("AWS::Lambda::Function").values()
        if f["Properties"]["FunctionName"] == dev.config.names.function("data_arrival")
    )
    # ~230 MB/s of zlib output at 1024 MB (0.58 vCPU; ~400 MB/s on a full core, measured with
    # functions/data_arrival/gzip_scan.py): the config's largest bound (4096 MB) in ~18 s,
    # within the 60 s timeout less the 10 s the function keeps for quarantining.
    assert function["MemorySize"] >= 1024 and function["Timeout"] >= 60
