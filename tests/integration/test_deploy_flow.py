"""deploy: approval -> endpoint, canary update, silent rollback, Rejected live model."""

from __future__ import annotations

import contextlib
import json
from unittest import mock

from lambda_fixtures import ARTIFACTS_BUCKET, ENDPOINT, GROUP, handler, load_event

from functions.shared.clients import client


def _package(aws, metric: str = "0.91") -> str:
    with contextlib.suppress(aws.sagemaker.exceptions.ClientError):
        aws.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = aws.sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        # created Approved: moto's update_model_package drops CustomerMetadataProperties
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sklearn:1.2-1",
                    "ModelDataUrl": f"s3://{ARTIFACTS_BUCKET}/pipelines/x/model.tar.gz",
                    "Environment": {
                        "SAGEMAKER_PROGRAM": "inference.py",
                        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                    },
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        CustomerMetadataProperties={
            "MetricName": "roc_auc",
            "MetricValue": metric,
            "BaselineUri": "s3://b/baseline.json",
            "EvaluationUri": "s3://b/evaluation.json",
        },
    )["ModelPackageArn"]
    return arn


def _approval(arn: str, status: str = "Approved", event_id: str = "approve-1") -> dict:
    event = load_event("model_package_approved.json")
    event["id"] = event_id
    event["detail"].update({"ModelPackageArn": arn, "ModelApprovalStatus": status})
    return event


def _in_service() -> dict:
    return load_event("endpoint_in_service.json")


def test_first_approval_creates_endpoint_then_goes_live(aws, context):
    arn = _package(aws)
    result = handler("deploy")(_approval(arn), context)
    assert result["status"] == "created"
    name = result["endpoint_config_name"]
    assert len(name) <= 63 and name.startswith(f"{ENDPOINT}-v")
    model = aws.sagemaker.describe_model(ModelName=name)
    assert model["PrimaryContainer"]["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    config = aws.sagemaker.describe_endpoint_config(EndpointConfigName=name)
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["KmsKeyId"].startswith("arn:aws:kms:")
    assert config["ProductionVariants"][0]["VariantName"] == "AllTraffic"

    # the same approval again (redelivery) does not create anything new
    assert handler("deploy")(_approval(arn), context)["status"] == "unchanged"

    live = handler("deploy")(_in_service(), context)
    assert live["status"] == "live"
    record = aws.json_object(ARTIFACTS_BUCKET, f"live/{ENDPOINT}.json")
    assert record["model_package_arn"] == arn
    assert record["metric_value"] == 0.91
    assert record["model_data_url"].endswith("model.tar.gz")
    assert [json.loads(m["Message"])["kind"] for m in aws.messages()] == ["deployed"]


def test_second_approval_updates_with_canary_and_detects_rollback(aws, context):
    first = _package(aws)
    handler("deploy")(_approval(first), context)
    handler("deploy")(_in_service(), context)
    aws.messages()
    second = _package(aws, metric="0.93")
    sagemaker = client("sagemaker")
    with mock.patch.object(sagemaker, "update_endpoint", return_value={}) as update:
        result = handler("deploy")(_approval(second, event_id="approve-2"), context)
    assert result["status"] == "updating"
    kwargs = update.call_args.kwargs
    assert kwargs["EndpointName"] == ENDPOINT
    assert kwargs["EndpointConfigName"] == result["endpoint_config_name"]
    policy = kwargs["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"]["CanarySize"] == {
        "Type": "CAPACITY_PERCENT",
        "Value": 10,
    }
    alarms = kwargs["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert alarms == [
        {"AlarmName": "mlops-dev-endpoint-5xx"},
        {"AlarmName": "mlops-dev-endpoint-p99-latency"},
    ]
    # moto never ran the update: the endpoint still serves the first config, which is exactly
    # what a silent auto-rollback looks like.
    outcome = handler("deploy")(_in_service(), context)
    assert outcome["status"] == "rolled_back"
    assert [json.loads(m["Message"])["kind"] for m in aws.messages()] == ["rolled_back"]
    record = aws.json_object(ARTIFACTS_BUCKET, f"live/{ENDPOINT}.json")
    assert record["model_package_arn"] == first


def test_rejected_live_model_redeploys_previous(aws, context):
    first = _package(aws)
    handler("deploy")(_approval(first), context)
    handler("deploy")(_in_service(), context)
    second = _package(aws)
    sagemaker = client("sagemaker")
    with mock.patch.object(sagemaker, "update_endpoint", return_value={}):
        handler("deploy")(_approval(second, event_id="approve-2"), context)
    # pretend the update went live
    config = handler("deploy").__globals__  # noqa: F841 - keep the module loaded
    aws.ddb.get_item(
        TableName="mlops-dev-state", Key={"pk": {"S": "deploy"}, "sk": {"S": ENDPOINT}}
    )
    record = aws.json_object(ARTIFACTS_BUCKET, f"live/{ENDPOINT}.json")
    record["model_package_arn"] = second
    aws.s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=f"live/{ENDPOINT}.json", Body=json.dumps(record))
    aws.sagemaker.update_model_package(ModelPackageArn=second, ModelApprovalStatus="Rejected")
    with mock.patch.object(sagemaker, "update_endpoint", return_value={}) as update:
        result = handler("deploy")(_approval(second, "Rejected", "reject-1"), context)
    assert result["model_package_arn"] == first
    assert update.called


def test_rejected_live_model_without_previous_is_kept(aws, context):
    only = _package(aws)
    handler("deploy")(_approval(only), context)
    handler("deploy")(_in_service(), context)
    aws.messages()
    aws.sagemaker.update_model_package(ModelPackageArn=only, ModelApprovalStatus="Rejected")
    result = handler("deploy")(_approval(only, "Rejected", "reject-1"), context)
    assert result["status"] == "kept_live"
    assert [json.loads(m["Message"])["kind"] for m in aws.messages()] == ["rejected_live_kept"]


def test_events_not_for_us_are_ignored(aws, context):
    deploy = handler("deploy")
    assert deploy(load_event("model_package_approved_other_group.json"), context)["reason"] == (
        "other_group"
    )
    assert deploy(load_event("model_package_pending.json"), context)["reason"] == "not_approved"
    assert deploy(load_event("endpoint_in_service_other.json"), context)["reason"] == (
        "other_endpoint"
    )
    assert deploy(_in_service(), context)["reason"] == "no_deployment_requested"
    assert deploy(load_event("scheduled_event.json"), context)["reason"] == "unsupported_event"
    truncated = load_event("model_package_approved.json")
    del truncated["detail"]["ModelPackageArn"]
    assert deploy(truncated, context)["reason"] == "malformed_event"
    assert aws.messages() == []
