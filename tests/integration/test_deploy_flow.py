"""deploy: registry decisions -> endpoint, whatever order and however often events arrive.

The endpoint calls go to a double of SageMaker's endpoint API (moto has no UpdateEndpoint and
settles at once); everything else is moto. `endpoint.settle(...)` is SageMaker finishing an
operation in its own time; the handler then gets the endpoint's state-change event.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError
from endpoint_double import EndpointDouble, installed
from lambda_fixtures import ARTIFACTS_BUCKET, ENDPOINT, GROUP, PREFIX, handler, load_event

from functions.shared.clients import client

MONITORING = f"{PREFIX}-monitoring"


@pytest.fixture
def endpoint(aws):
    with installed(client("sagemaker"), EndpointDouble(ENDPOINT)) as double:
        yield double


def _package(aws, metric: str = "0.91") -> str:
    with contextlib.suppress(aws.sagemaker.exceptions.ClientError):
        aws.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    return aws.sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sklearn:1.2-1",
                    "ModelDataUrl": f"s3://{ARTIFACTS_BUCKET}/pipelines/x/model.tar.gz",
                    "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        CustomerMetadataProperties={"MetricName": "roc_auc", "MetricValue": metric},
    )["ModelPackageArn"]


def _decide(aws, arn: str, status: str) -> None:
    aws.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)


def _package_event(arn: str, status: str = "Approved", event_id: str = "e1", fields=None):
    event = load_event("model_package_approved.json")
    event["id"] = event_id
    event["detail"].update({"ModelPackageArn": arn, "ModelApprovalStatus": status})
    event["detail"]["ModelPackageVersion"] = int(arn.rsplit("/", 1)[1])
    if fields is not None:
        event["detail"]["UpdatedModelPackageFields"] = fields
    return event


def _endpoint_event(status: str = "IN_SERVICE") -> dict:
    event = load_event("endpoint_in_service.json")
    event["detail"]["EndpointStatus"] = status
    return event


def _deploy(event, context) -> dict:
    return handler("deploy")(event, context)


def _kinds(aws) -> list[str]:
    return [json.loads(m["Message"])["kind"] for m in aws.messages()]


def _live(aws) -> dict:
    return aws.json_object(ARTIFACTS_BUCKET, f"live/{ENDPOINT}.json")


def _serve(aws, endpoint, context, event_id: str = "e1") -> str:
    """A new version approved, deployed and live; the notifications so far read."""
    arn = _package(aws)
    _deploy(_package_event(arn, event_id=event_id), context)
    endpoint.settle("live")
    _deploy(_endpoint_event(), context)
    aws.messages()
    return arn


def test_first_approval_creates_the_endpoint_and_goes_live_once(aws, endpoint, context):
    arn = _package(aws)
    result = _deploy(_package_event(arn), context)
    assert result["status"] == "created"
    assert result["endpoint_config_name"] == f"{ENDPOINT}-v1"
    model = aws.sagemaker.describe_model(ModelName=f"{ENDPOINT}-v1")
    assert model["PrimaryContainer"]["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    capture = aws.sagemaker.describe_endpoint_config(EndpointConfigName=f"{ENDPOINT}-v1")[
        "DataCaptureConfig"
    ]
    assert capture["EnableCapture"] is True and capture["KmsKeyId"].startswith("arn:aws:kms:")
    # a redelivery, or a second event for the same decision, asks nothing more
    assert _deploy(_package_event(arn, event_id="e2"), context)["status"] == "pending"
    assert len(endpoint.requests("create")) == 1

    endpoint.settle("live")
    for _ in range(3):  # SageMaker may send the state change more than once
        assert _deploy(_endpoint_event(), context)["status"] == "live"
    assert _live(aws)["model_package_arn"] == arn and _live(aws)["metric_value"] == 0.91
    assert _kinds(aws) == ["deployed"]


def test_the_live_record_says_when_the_model_began_to_serve_not_when_the_function_heard(
    aws, endpoint, context
):
    """The monitoring run measures the live model's predictions from `deployed_at`: a deploy
    function that runs late (a delayed or retried delivery) must not drop the first requests."""
    arn = _package(aws)
    _deploy(_package_event(arn), context)
    endpoint.settle("live")
    endpoint.modified = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)  # InService at 12:00:05
    assert _deploy(_endpoint_event(), context)["status"] == "live"  # heard of it just now
    assert _live(aws)["deployed_at"] == "2026-03-01T12:00:05Z"


def test_one_instance_fleet_shifts_all_at_once_and_bakes_under_the_alarms(aws, endpoint, context):
    _serve(aws, endpoint, context)
    _deploy(_package_event(_package(aws), event_id="e2"), context)
    (update,) = endpoint.requests("update")
    policy = update["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    # a canary is at least one instance and at most half the fleet: one instance cannot take one
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "ALL_AT_ONCE",
        "WaitIntervalInSeconds": 300,
    }
    waits = 300 + policy["TerminationWaitInSeconds"]
    assert 600 <= policy["MaximumExecutionTimeoutInSeconds"] <= 28_800
    assert policy["MaximumExecutionTimeoutInSeconds"] > waits
    assert update["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": f"{PREFIX}-endpoint-5xx"},
        {"AlarmName": f"{PREFIX}-endpoint-p99-latency"},
    ]


def test_a_decision_made_while_the_endpoint_updates_is_applied_when_it_settles(
    aws, endpoint, context
):
    _serve(aws, endpoint, context)
    second, third = _package(aws), _package(aws)
    assert _deploy(_package_event(second, event_id="e2"), context)["status"] == "updating"
    # SageMaker refuses an update while one runs; the decision waits instead of failing
    assert _deploy(_package_event(third, event_id="e3"), context)["status"] == "pending"
    assert len(endpoint.requests("update")) == 1

    endpoint.settle("live")
    after = _deploy(_endpoint_event(), context)
    assert after["status"] == "updating" and after["endpoint_config_name"] == f"{ENDPOINT}-v3"
    assert _live(aws)["model_package_arn"] == second  # what serves meanwhile
    endpoint.settle("live")
    _deploy(_endpoint_event(), context)
    assert _live(aws)["model_package_arn"] == third
    assert _kinds(aws) == ["deployed", "deployed"]


def test_an_update_sagemaker_refused_is_not_recorded_and_its_retry_applies_it(
    aws, endpoint, context
):
    first = _serve(aws, endpoint, context)
    second = _package(aws)
    endpoint.refuse = ClientError(
        {"Error": {"Code": "ResourceLimitExceeded", "Message": "instance limit"}}, "UpdateEndpoint"
    )
    with pytest.raises(ClientError):  # the invocation fails; Lambda retries the event
        _deploy(_package_event(second, event_id="e2"), context)
    item = aws.ddb.get_item(
        TableName=f"{PREFIX}-state", Key={"pk": {"S": "deploy"}, "sk": {"S": ENDPOINT}}
    )["Item"]
    assert item["attempt_config"]["S"] == f"{ENDPOINT}-v1"  # nothing recorded as requested
    assert _live(aws)["model_package_arn"] == first
    # the retry of the same event finds its decision in force and applies it
    assert _deploy(_package_event(second, event_id="e2"), context)["status"] == "updating"
    endpoint.settle("live")
    _deploy(_endpoint_event(), context)
    assert _live(aws)["model_package_arn"] == second


def test_old_redelivered_approvals_and_metadata_edits_do_not_redeploy(aws, endpoint, context):
    old = _serve(aws, endpoint, context)
    new = _serve(aws, endpoint, context, event_id="e2")
    # the first approval, delivered again much later
    assert _deploy(_package_event(old, event_id="e1"), context)["reason"] == "stale"
    # an edit of the old version's description fires a package event too
    edit = _package_event(old, event_id="e9", fields=["ModelPackageDescription"])
    assert _deploy(edit, context)["reason"] == "not_an_approval_change"
    assert len(endpoint.requests("update")) == 1
    assert _live(aws)["model_package_arn"] == new


def test_approve_then_reject_at_once_never_serves_the_rejected_version(aws, endpoint, context):
    first = _serve(aws, endpoint, context)
    quick = _package(aws)
    _decide(aws, quick, "Rejected")  # approved on creation, rejected 0.3 s later
    assert _deploy(_package_event(quick, event_id="a"), context)["reason"] == (
        "rejected_not_serving"
    )
    assert _deploy(_package_event(quick, "Rejected", "r"), context)["status"] == "ignored"
    assert endpoint.requests("update") == [] and _live(aws)["model_package_arn"] == first


def test_a_rejection_arriving_mid_update_converges_back(aws, endpoint, context):
    first = _serve(aws, endpoint, context)
    second = _package(aws)
    assert _deploy(_package_event(second, event_id="a"), context)["status"] == "updating"
    _decide(aws, second, "Rejected")
    assert _deploy(_package_event(second, "Rejected", "r"), context)["status"] == "pending"
    endpoint.settle("live")  # the rejected version went live before the rejection applied
    back = _deploy(_endpoint_event(), context)
    assert _live(aws)["model_package_arn"] == second  # the record says what serves
    assert back["endpoint_config_name"] == f"{ENDPOINT}-v1"
    endpoint.settle("live")
    _deploy(_endpoint_event(), context)
    assert _live(aws)["model_package_arn"] == first


def test_two_approvals_in_quick_succession_converge_on_the_later(aws, endpoint, context):
    _serve(aws, endpoint, context)
    eight, nine = _package(aws), _package(aws)
    _decide(aws, eight, "Approved")
    _decide(aws, nine, "Approved")
    # the later decision's event arrives first; the earlier one is then stale
    assert _deploy(_package_event(nine, event_id="9"), context)["status"] == "updating"
    assert _deploy(_package_event(eight, event_id="8"), context)["reason"] == "stale"
    endpoint.settle("live")
    _deploy(_endpoint_event(), context)
    assert _live(aws)["model_package_arn"] == nine
    assert [u["EndpointConfigName"] for u in endpoint.requests("update")] == [f"{ENDPOINT}-v3"]


def test_a_rejected_live_model_is_replaced_without_rollback_alarms(aws, endpoint, context):
    first = _serve(aws, endpoint, context)
    second = _serve(aws, endpoint, context, event_id="a")
    _decide(aws, second, "Rejected")
    assert _deploy(_package_event(second, "Rejected", "r"), context)["status"] == "updating"
    replacement = endpoint.requests("update")[-1]
    assert replacement["EndpointConfigName"] == f"{ENDPOINT}-v1"
    # an alarm already in ALARM cannot roll the replacement back onto the rejected model
    assert "AutoRollbackConfiguration" not in replacement["DeploymentConfig"]
    endpoint.settle("rolled_back")  # and if SageMaker still cannot, the user is told, once
    _deploy(_endpoint_event(), context)
    _deploy(_endpoint_event(), context)
    assert _kinds(aws) == ["rejected_still_serving"]
    assert _live(aws)["model_package_arn"] == second != first


def test_rejecting_the_only_model_takes_the_endpoint_down(aws, endpoint, context):
    only = _serve(aws, endpoint, context)
    _decide(aws, only, "Rejected")
    assert _deploy(_package_event(only, "Rejected", "r"), context)["status"] == "deleted"
    assert endpoint.status is None and len(endpoint.requests("delete")) == 1
    assert _live(aws)["model_package_arn"] is None
    assert _kinds(aws) == ["endpoint_deleted"]
    assert _deploy(_package_event(only, "Rejected", "r"), context)["status"] == "ignored"
    assert _kinds(aws) == []


def test_a_failed_first_endpoint_is_recreated_by_the_next_approval(aws, endpoint, context):
    first = _package(aws)
    _deploy(_package_event(first), context)
    endpoint.settle("failed")
    assert _deploy(_endpoint_event("FAILED"), context)["status"] == "deployment_failed"
    assert _deploy(_endpoint_event("FAILED"), context)["status"] == "failed"  # told once
    assert _kinds(aws) == ["deployment_failed"]
    second = _package(aws)
    assert _deploy(_package_event(second, event_id="e2"), context)["status"] == "recreated"
    assert [k for k, _ in endpoint.calls] == ["create", "delete", "create"]
    assert endpoint.requests("update") == []


def test_a_rollback_is_told_once_and_a_failed_rollback_is_told(aws, endpoint, context):
    first = _serve(aws, endpoint, context)
    _deploy(_package_event(_package(aws), event_id="e2"), context)
    endpoint.settle("rolled_back")
    for _ in range(3):
        assert _deploy(_endpoint_event(), context)["status"] in ("rolled_back",)
    assert _kinds(aws) == ["rolled_back"] and _live(aws)["model_package_arn"] == first
    assert len(endpoint.requests("update")) == 1  # no retry loop of a rolled-back version

    _deploy(_package_event(_package(aws), event_id="e3"), context)
    endpoint.settle("mixed")
    event = load_event("endpoint_update_rollback_failed.json")
    assert _deploy(event, context)["status"] == "rollback_failed"
    assert _kinds(aws) == ["rollback_failed"]


def test_monitoring_starts_only_while_a_model_serves(aws, endpoint, context):
    aws.sagemaker.create_pipeline(
        PipelineName=MONITORING,
        RoleArn=f"arn:aws:iam::123456789012:role/{PREFIX}-sagemaker",
        PipelineDefinition=json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": []}),
    )

    def runs() -> int:
        return len(
            aws.sagemaker.list_pipeline_executions(PipelineName=MONITORING)[
                "PipelineExecutionSummaries"
            ]
        )

    tick = load_event("scheduled_event.json")
    assert _deploy(tick, context)["reason"] == "no_model_serves" and runs() == 0
    only = _serve(aws, endpoint, context)
    assert _deploy(tick, context)["status"] == "monitoring_started" and runs() == 1
    _decide(aws, only, "Rejected")
    _deploy(_package_event(only, "Rejected", "r"), context)
    assert _deploy(tick, context)["reason"] == "no_model_serves" and runs() == 1


def test_events_not_for_us_are_ignored(aws, endpoint, context):
    assert _deploy(load_event("model_package_approved_other_group.json"), context)["reason"] == (
        "other_group"
    )
    assert _deploy(load_event("model_package_pending.json"), context)["reason"] == "not_approved"
    assert _deploy(load_event("endpoint_in_service_other.json"), context)["reason"] == (
        "other_endpoint"
    )
    assert _deploy(load_event("endpoint_updating.json"), context)["reason"] == (
        "transitional_status"
    )
    assert _deploy(_endpoint_event(), context)["reason"] == "no_deployment_requested"
    truncated = load_event("model_package_approved.json")
    del truncated["detail"]["ModelPackageArn"]
    assert _deploy(truncated, context)["reason"] == "malformed_event"
    assert aws.messages() == []
