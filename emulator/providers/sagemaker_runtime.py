"""SageMaker Runtime: `InvokeEndpoint` answered by the endpoint host, with AWS's status codes and
errors, so boto3 raises what it raises against AWS (`ModelError`, `ValidationError`)."""

from __future__ import annotations

from emulator.endpoints import EndpointHost
from emulator.front import Front, Reply
from emulator.requests import AwsRequest


class SageMakerRuntimeProvider:
    def __init__(self, endpoints: EndpointHost) -> None:
        self.endpoints = endpoints

    def install(self, front: Front) -> None:
        front.own("sagemaker-runtime", "InvokeEndpoint", self.invoke_endpoint)

    def invoke_endpoint(self, request: AwsRequest) -> Reply:
        p = request.params
        body = p.get("Body") or b""
        headers, out = self.endpoints.invoke(
            p["EndpointName"],
            body if isinstance(body, bytes) else str(body).encode(),
            p.get("ContentType") or "application/octet-stream",
            p.get("Accept") or "application/json",
            p.get("InferenceId"),
        )
        return Reply(200, headers, out)
