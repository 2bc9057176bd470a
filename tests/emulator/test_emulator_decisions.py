"""Registry decisions against the real deploy function and endpoint host, with AWS's durations
scaled: a blue/green update outlasts Lambda's async retry window, as it does in AWS."""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import register_package, unique, wait_for
from endpoint_faults import report_5xx
from test_emulator_endpoints import _artifact

# Lambda retries a failed async invocation twice, about 1 and 2 minutes later
# (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
LAMBDA_RETRY_WINDOW_SECONDS = 180
UPDATE_PROVISION_SECONDS = 20 * 60


@pytest.fixture(scope="module")
def model_url(runtime) -> str:
    key = f"pipelines/{unique('decisions')}/model/model.tar.gz"
    runtime.cloud.client("s3").put_object(
        Bucket=runtime.artifacts_bucket, Key=key, Body=_artifact()
    )
    return f"s3://{runtime.artifacts_bucket}/{key}"


def _decide(runtime, arn: str, status: str = "Approved") -> None:
    runtime.cloud.client("sagemaker").update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus=status
    )


def _live(runtime) -> str | None:
    s3 = runtime.cloud.client("s3")
    try:
        body = s3.get_object(
            Bucket=runtime.artifacts_bucket, Key=f"live/{runtime.endpoint_name}.json"
        )["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return json.loads(body)["model_package_arn"]


def _status(runtime) -> str:
    return runtime.cloud.client("sagemaker").describe_endpoint(EndpointName=runtime.endpoint_name)[
        "EndpointStatus"
    ]


def _deploy_entries(runtime) -> list:
    name = runtime.function_name("deploy")
    return [e for e in runtime.bus.timeline if e.target == name]


def _serving(runtime, arn: str) -> None:
    wait_for(lambda: _live(runtime) == arn and _status(runtime) == "InService", 60, arn)


def test_an_approval_during_a_20_minute_update_is_applied_after_it(runtime, model_url):
    first = register_package(runtime, model_url)
    _decide(runtime, first)
    _serving(runtime, first)

    slow = dataclasses.replace(runtime.endpoints.durations, provision=UPDATE_PROVISION_SECONDS)
    kept, runtime.endpoints.durations = runtime.endpoints.durations, slow
    try:
        second, third = register_package(runtime, model_url), register_package(runtime, model_url)
        _decide(runtime, second)
        wait_for(lambda: _status(runtime) == "Updating", 30, "the update to start")
        _decide(runtime, third)  # decided while the endpoint updates
        assert runtime.bus.drain(timeout=30)
        # Lambda's whole retry window has passed, scaled; the update still runs
        assert _status(runtime) == "Updating"
        assert UPDATE_PROVISION_SECONDS > LAMBDA_RETRY_WINDOW_SECONDS
        _serving(runtime, third)
    finally:
        runtime.endpoints.durations = kept
    entries = _deploy_entries(runtime)
    assert [e for e in entries if e.outcome in ("failed", "dead-lettered")] == []
    results = [e.result for e in entries if isinstance(e.result, dict)]
    assert any(r.get("status") == "pending" for r in results), results


def test_rejecting_the_live_model_while_a_rollback_alarm_fires_still_replaces_it(
    runtime, model_url
):
    good, bad = register_package(runtime, model_url), register_package(runtime, model_url)
    _decide(runtime, good)
    _decide(runtime, bad)
    _serving(runtime, bad)
    errors_alarm = json.loads(runtime.function_env("deploy")["ROLLBACK_ALARM_NAMES"])[0]
    # The endpoint returns 5XX in two consecutive minutes: the rollback alarm is in ALARM.
    report_5xx(runtime)
    assert runtime.alarms.alarm_state(errors_alarm) == "ALARM"
    _decide(runtime, bad, "Rejected")
    _serving(runtime, good)
    assert runtime.alarms.alarm_state(errors_alarm) == "ALARM"  # it fired throughout
    config = runtime.cloud.client("sagemaker").describe_endpoint(
        EndpointName=runtime.endpoint_name
    )["EndpointConfigName"]
    assert config.endswith(f"-v{good.rsplit('/', 1)[1]}")
