"""deploy creates the model with the model's own role, network-isolated."""

from __future__ import annotations

from lambda_fixtures import ARTIFACTS_BUCKET, GROUP, MODEL_ROLE_ARN, handler, load_event

from functions.shared.clients import client


def test_model_runs_with_its_own_role_and_no_network(aws, context):
    aws.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = aws.sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sklearn:1.2-1",
                    "ModelDataUrl": f"s3://{ARTIFACTS_BUCKET}/pipelines/x/model/j/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    event = load_event("model_package_approved.json")
    event["detail"].update({"ModelPackageArn": arn, "ModelApprovalStatus": "Approved"})
    # moto keeps neither flag of CreateModel: read the request as the function sends it.
    sent = []
    client("sagemaker").meta.events.register(
        "provide-client-params.sagemaker.CreateModel", lambda params, **_: sent.append(params)
    )
    result = handler("deploy")(event, context)
    assert result["status"] == "created"
    (params,) = sent
    assert params["ExecutionRoleArn"] == MODEL_ROLE_ARN
    assert params["EnableNetworkIsolation"] is True
    assert MODEL_ROLE_ARN.endswith("-model")
