"""Every request is identified with botocore's service models; the front hands owned operations to
their provider and everything else to moto, and observers see what was answered."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from emulator.front import Front, Reply, ServiceError, json_reply
from emulator.requests import AwsRequest, UnknownRequest, identify


class _Sent(Exception):
    def __init__(self, request: AwsRequest) -> None:
        self.request = request


def _capture(request: Any, **_: Any) -> AWSResponse:
    url = urlsplit(request.url)
    body = request.body or b""
    body = body.read() if hasattr(body, "read") else body
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    raise _Sent(
        identify(
            method=request.method,
            path=unquote(url.path),
            query_string=url.query,
            headers=headers,
            body=body.encode() if isinstance(body, str) else body,
        )
    )


def sent(service: str, operation: str, **params: Any) -> AwsRequest:
    """What the front would see of this boto3 call."""
    client = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x", region_name="eu-west-1"
    ).client(service, endpoint_url="http://127.0.0.1:9", config=Config(retries={"max_attempts": 0}))
    client.meta.events.register("before-send", _capture)
    with pytest.raises(_Sent) as got:
        getattr(client, operation)(**params)
    return got.value.request


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        (
            "s3",
            "put_object",
            {"Bucket": "b", "Key": "in/a b/../c.csv", "Body": b"x"},
            ("s3", "PutObject", {"Bucket": "b", "Key": "in/a b/../c.csv"}),
        ),
        (
            "s3",
            "copy_object",
            {"Bucket": "b", "Key": "k2", "CopySource": "b/k1"},
            ("s3", "CopyObject", {"CopySource": "b/k1"}),
        ),
        (
            "s3",
            "list_objects_v2",
            {"Bucket": "b", "Prefix": "incoming/"},
            ("s3", "ListObjectsV2", {"Prefix": "incoming/"}),
        ),
        (
            "s3",
            "put_bucket_notification_configuration",
            {"Bucket": "b", "NotificationConfiguration": {"EventBridgeConfiguration": {}}},
            ("s3", "PutBucketNotificationConfiguration", {"Bucket": "b"}),
        ),
        (
            "sagemaker",
            "update_model_package",
            {"ModelPackageArn": "arn:p", "ModelApprovalStatus": "Approved"},
            ("sagemaker", "UpdateModelPackage", {"ModelApprovalStatus": "Approved"}),
        ),
        (
            "sagemaker-runtime",
            "invoke_endpoint",
            {"EndpointName": "ep", "Body": b"1,2", "ContentType": "text/csv"},
            ("sagemaker-runtime", "InvokeEndpoint", {"EndpointName": "ep", "Body": b"1,2"}),
        ),
        (
            "lambda",
            "invoke",
            {"FunctionName": "fn", "Payload": b"{}", "InvocationType": "Event"},
            ("lambda", "Invoke", {"FunctionName": "fn", "InvocationType": "Event"}),
        ),
        (
            "events",
            "put_events",
            {"Entries": [{"Source": "a", "DetailType": "b", "Detail": "{}"}]},
            (
                "events",
                "PutEvents",
                {"Entries": [{"Source": "a", "DetailType": "b", "Detail": "{}"}]},
            ),
        ),
        (
            "cloudwatch",
            "put_metric_data",
            {"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1.0}]},
            ("cloudwatch", "PutMetricData", {"Namespace": "N"}),
        ),
        (
            "sns",
            "publish",
            {
                "TopicArn": "arn:t",
                "Message": "m",
                "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
            },
            (
                "sns",
                "Publish",
                {"MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
            ),
        ),
        (
            "sts",
            "assume_role",
            {"RoleArn": "arn:aws:iam::1:role/r", "RoleSessionName": "ss"},
            ("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::1:role/r"}),
        ),
        (
            "dynamodb",
            "put_item",
            {"TableName": "t", "Item": {"pk": {"S": "a"}}},
            ("dynamodb", "PutItem", {"TableName": "t"}),
        ),
    ],
)
def test_requests_are_identified_with_botocore_models(service, operation, params, expected):
    request = sent(service, operation, **params)
    name, op, subset = expected
    assert (request.service, request.operation) == (name, op)
    assert {k: request.params.get(k) for k in subset} == subset
    assert request.access_key == "AKIDEXAMPLE"
    assert request.region == "eu-west-1"


def test_unsigned_requests_are_not_guessed():
    with pytest.raises(UnknownRequest):
        identify(method="GET", path="/", query_string="", headers={}, body=b"")


class _Moto:
    """A stand-in for moto's WSGI application: records what it was handed."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, environ: dict, start_response: Any) -> list[bytes]:
        self.seen.append(environ.get("HTTP_X_AMZ_TARGET", environ["PATH_INFO"]))
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1")])
        return [b'{"from": "moto"}']


def _environ(target: str, body: dict) -> dict:
    import io

    raw = json.dumps(body).encode()
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-amz-json-1.1",
        "CONTENT_LENGTH": str(len(raw)),
        "HTTP_X_AMZ_TARGET": target,
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sagemaker/"
        "aws4_request, SignedHeaders=host, Signature=x",
        "wsgi.input": io.BytesIO(raw),
    }


def _call(front: Front, environ: dict) -> tuple[str, bytes]:
    status: list[str] = []
    body = b"".join(front(environ, lambda s, h, *a: status.append(s)))
    return status[0], body


def test_owned_operations_go_to_their_provider_and_the_rest_to_moto():
    moto = _Moto()
    front = Front(moto)
    seen: list[tuple[str, int]] = []
    front.own("sagemaker", "DescribeEndpoint", lambda r: json_reply({"from": "provider"}))
    front.observe(
        "sagemaker", "ListModels", lambda r, reply: seen.append((r.operation, reply.status))
    )
    status, body = _call(front, _environ("SageMaker.DescribeEndpoint", {"EndpointName": "e"}))
    assert status.startswith("200") and json.loads(body) == {"from": "provider"}
    status, body = _call(front, _environ("SageMaker.ListModels", {}))
    assert json.loads(body) == {"from": "moto"} and moto.seen == ["SageMaker.ListModels"]
    assert seen == [("ListModels", 200)]
    with pytest.raises(ValueError, match="already has a provider"):
        front.own("sagemaker", "DescribeEndpoint", lambda r: Reply(200))


def test_a_provider_error_is_answered_in_the_protocol_of_the_request():
    front = Front(_Moto())

    def refuse(request: AwsRequest) -> Reply:
        raise ServiceError("ValidationException", "Cannot update in-progress endpoint.")

    front.own("sagemaker", "UpdateEndpoint", refuse)
    status, body = _call(front, _environ("SageMaker.UpdateEndpoint", {"EndpointName": "e"}))
    assert status.startswith("400")
    assert json.loads(body) == {
        "__type": "ValidationException",
        "message": "Cannot update in-progress endpoint.",
    }
