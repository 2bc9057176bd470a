"""Lambda: `Invoke` runs the function in its own worker process (`emulator.lambdas`); every other
operation (the functions, their configuration, concurrency and event invoke configs) is moto's.

Status codes as Lambda answers them
(https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html): 200 with the result, or with
`X-Amz-Function-Error: Unhandled` and the error document for a function error; 202 for an
asynchronous invocation; 204 for a dry run; 429 when the function is at its concurrency limit.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from emulator.front import Front, Reply, ServiceError
from emulator.lambdas import FunctionError, LambdaService, Throttled
from emulator.requests import AwsRequest

# Changes after which Lambda starts new execution environments.
_CONFIGURATION_CHANGES = (
    "UpdateFunctionConfiguration",
    "PutFunctionConcurrency",
    "DeleteFunctionConcurrency",
    "PutFunctionEventInvokeConfig",
    "UpdateFunctionEventInvokeConfig",
    "DeleteFunctionEventInvokeConfig",
    "DeleteFunction",
)


class LambdaProvider:
    def __init__(self, lambdas: LambdaService) -> None:
        self.lambdas = lambdas

    def install(self, front: Front) -> None:
        front.own("lambda", "Invoke", self.invoke)
        front.observe("lambda", "CreateFunction", self._code_changed)
        front.observe("lambda", "UpdateFunctionCode", self._code_changed)
        for operation in _CONFIGURATION_CHANGES:
            front.observe("lambda", operation, self._configuration_changed)

    def _configuration_changed(self, request: AwsRequest, reply: Reply) -> None:
        self.lambdas.invalidate(request.params["FunctionName"])

    def _code_changed(self, request: AwsRequest, reply: Reply) -> None:
        """moto keeps a function's code but offers no way to read it back: remember it here."""
        p = request.params
        code = p.get("Code", p)
        name = p["FunctionName"].rsplit(":function:", 1)[-1]
        if code.get("ZipFile"):
            self.lambdas.register_code(name, zip_file=base64.b64decode(code["ZipFile"]))
        elif code.get("S3Bucket"):
            self.lambdas.register_code(name, bucket=code["S3Bucket"], key=code["S3Key"])

    def invoke(self, request: AwsRequest) -> Reply:
        p = request.params
        name = p["FunctionName"]
        kind = p.get("InvocationType") or "RequestResponse"
        raw = p.get("Payload") or b"{}"
        try:
            event: Any = json.loads(raw or b"{}")
        except ValueError as exc:
            raise ServiceError(
                "InvalidRequestContentException", f"Could not parse request body into json: {exc}"
            ) from exc
        try:
            self.lambdas.function(name)
        except Exception as exc:  # noqa: BLE001 - moto's not-found, as Lambda says it
            raise ServiceError(
                "ResourceNotFoundException", f"Function not found: {name}", 404
            ) from exc
        headers = {"X-Amz-Executed-Version": "$LATEST", "Content-Type": "application/json"}
        if kind == "DryRun":
            return Reply(204, headers)
        if kind == "Event":
            self.lambdas.invoke_async(name, event)
            return Reply(202, headers)
        try:
            result = self.lambdas.invoke(name, event)
        except Throttled as exc:
            raise ServiceError(
                "TooManyRequestsException",
                str(exc),
                429,
                Reason="ReservedFunctionConcurrentInvocationLimitExceeded",
            ) from exc
        except FunctionError as exc:
            body = json.dumps(exc.error).encode()
            return Reply(200, {**headers, "X-Amz-Function-Error": "Unhandled"}, body)
        return Reply(200, headers, json.dumps(result).encode())
