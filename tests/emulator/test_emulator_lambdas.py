"""Each Lambda function runs in worker processes of its own, as Lambda runs it: its own
environment and role, a cold start then warm invocations, its timeout, its concurrency, its
asynchronous retries and failure destination."""

from __future__ import annotations

import io
import json
import threading
import zipfile

import boto3
import pytest
from botocore.config import Config
from conftest import aws_cli, unique, wait_for

CODE = """
import json, os, time
import boto3

def report(event, context):
    identity = boto3.client("sts").get_caller_identity()["Arn"]
    return {
        "identity": identity,
        "env": {k: os.environ.get(k) for k in event.get("keys", [])},
        "remaining_ms": context.get_remaining_time_in_millis(),
        "pid": os.getpid(),
    }

def sleep(event, context):
    time.sleep(event.get("seconds", 5))
    return "woke"

def crash(event, context):
    os._exit(3)

def fail(event, context):
    raise ValueError("this event cannot be handled: " + str(event.get("n")))
"""


def _package() -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr("probe.py", CODE)
    return raw.getvalue()


@pytest.fixture(scope="module")
def role(runtime) -> str:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    return runtime.cloud.client("iam").create_role(
        RoleName=unique("probe"), AssumeRolePolicyDocument=json.dumps(policy)
    )["Role"]["Arn"]


def _function(
    runtime, role: str, handler: str, *, timeout: int = 30, env: dict | None = None
) -> str:
    name = unique(f"probe-{handler}")
    runtime.cloud.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler=f"probe.{handler}",
        Code={"ZipFile": _package()},
        Timeout=timeout,
        Environment={"Variables": env or {}},
    )
    return name


def _invoke(runtime, name: str, event: dict) -> dict:
    answer = runtime.cloud.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event))
    return {"error": answer.get("FunctionError"), "payload": json.loads(answer["Payload"].read())}


def test_the_aws_cli_invokes_a_handler_of_the_template(runtime, tmp_path):
    out = tmp_path / "out.json"
    answer = aws_cli(
        runtime,
        "lambda",
        "invoke",
        "--function-name",
        "mlops-dev-data-arrival",
        "--payload",
        json.dumps({"detail-type": "Object Created", "detail": {}}),
        str(out),
    )
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert json.loads(out.read_text())["reason"] == "malformed_event"


def test_a_worker_has_its_functions_environment_and_role_and_nothing_else(
    runtime, role, monkeypatch
):
    monkeypatch.setenv("LEAKED_FROM_THE_RUNTIME", "1")
    name = _function(runtime, role, "report", env={"STAGE": "dev"})
    keys = ["STAGE", "LEAKED_FROM_THE_RUNTIME", "AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT"]
    got = _invoke(runtime, name, {"keys": keys})["payload"]
    assert got["identity"].endswith(f":assumed-role/{role.rsplit('/', 1)[-1]}/{name}")
    assert got["env"]["STAGE"] == "dev" and got["env"]["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert got["env"]["LEAKED_FROM_THE_RUNTIME"] is None
    assert 25_000 < got["remaining_ms"] <= 30_000


def test_the_template_handlers_run_from_the_deployed_package(runtime):
    runtime.cloud.client("lambda").invoke(FunctionName="mlops-dev-drift-retrain", Payload=b"{}")
    function = runtime.lambdas.function("mlops-dev-drift-retrain")
    assert str(function.config.code_dir).startswith(str(runtime.scratch_dir))
    assert (function.config.code_dir / "functions" / "drift_retrain" / "handler.py").is_file()


def test_first_invocation_is_a_cold_start_then_warm(runtime, role):
    name = _function(runtime, role, "report")
    first = _invoke(runtime, name, {})["payload"]["pid"]
    second = _invoke(runtime, name, {})["payload"]["pid"]
    assert first == second
    stats = runtime.lambdas.stats()[name]
    assert stats["cold_starts"] == 1 and len(stats["warm"]) == 1


def test_a_handler_past_its_timeout_is_killed_and_fails_as_lambda_reports_it(runtime, role):
    name = _function(runtime, role, "sleep", timeout=1)
    got = _invoke(runtime, name, {"seconds": 30})
    assert got["error"] == "Unhandled"
    assert got["payload"]["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in got["payload"]["errorMessage"]
    # The killed environment is gone: the next invocation starts a new one.
    _invoke(runtime, name, {"seconds": 0})
    assert runtime.lambdas.stats()[name]["cold_starts"] == 2


def test_a_timed_out_async_invocation_is_retried_then_sent_to_its_destination(runtime, role):
    name = _function(runtime, role, "sleep", timeout=1)
    sqs = runtime.cloud.client("sqs")
    queue = sqs.create_queue(QueueName=unique("failed"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    runtime.cloud.client("lambda").put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    runtime.cloud.client("lambda").invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps({"seconds": 30})
    )
    message = wait_for(
        lambda: sqs.receive_message(QueueUrl=queue).get("Messages"), 30, "the failure record"
    )[0]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responsePayload"]["errorType"] == "Sandbox.Timedout"
    assert record["requestPayload"] == {"seconds": 30}


def test_a_crash_takes_only_its_own_invocation(runtime, role):
    name = _function(runtime, role, "crash")
    got = _invoke(runtime, name, {})
    assert got["payload"]["errorType"] == "Runtime.ExitError"
    other = _function(runtime, role, "report")
    assert _invoke(runtime, other, {})["error"] is None


def test_reserved_concurrency_throttles_what_exceeds_it(runtime, role):
    name = _function(runtime, role, "sleep")
    lam = runtime.cloud.client("lambda")
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    busy = threading.Thread(target=_invoke, args=(runtime, name, {"seconds": 3}))
    busy.start()
    wait_for(lambda: runtime.lambdas.function(name).busy == 1, 30, "the first invocation")
    # No retries: botocore would retry the throttle until the first invocation ended.
    once = boto3.client(
        "lambda",
        endpoint_url=runtime.cloud.endpoint_url,
        region_name=runtime.cloud.region,
        aws_access_key_id="user",
        aws_secret_access_key="user",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    with pytest.raises(once.exceptions.TooManyRequestsException):
        once.invoke(FunctionName=name, Payload=json.dumps({"seconds": 0}))
    busy.join()


def test_function_errors_become_lambdas_metrics(runtime, role):
    name = _function(runtime, role, "fail")
    assert _invoke(runtime, name, {"n": 1})["payload"]["errorType"] == "ValueError"
    metrics = runtime.cloud.client("cloudwatch").list_metrics(
        Namespace="AWS/Lambda", Dimensions=[{"Name": "FunctionName", "Value": name}]
    )["Metrics"]
    assert {"Errors", "Invocations", "Duration"} <= {m["MetricName"] for m in metrics}
