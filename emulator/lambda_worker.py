"""One Lambda execution environment: a process that imports the function's handler once (its init
phase, a real cold start) and then runs invocations one at a time, as Lambda does.

    python lambda_worker.py <request fd> <response fd>

The parent (`emulator.lambdas`) starts it with exactly the function's environment (its variables,
Lambda's reserved ones, its role's credentials) and its code folder as the working directory.
The code folder goes on the path after the interpreter's own libraries: they stand for the
Lambda runtime and its layers, and the package may carry wheels built for Lambda's Python, not
this one. Messages are length-prefixed JSON on two pipes, so the handler's own stdout (its
logs) stays free. Run as a file, not as part of the `emulator` package: the function must import
nothing but its own code and the libraries a layer would give it.
"""

from __future__ import annotations

import importlib
import json
import os
import struct
import sys
import time
import traceback
from typing import Any, BinaryIO


class LambdaContext:
    """The context object Lambda passes to a Python handler."""

    def __init__(self, request_id: str, deadline_ms: float) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ["LOCAL_LAMBDA_FUNCTION_ARN"]
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _read(stream: BinaryIO) -> Any:
    header = stream.read(4)
    if len(header) < 4:
        return None
    (size,) = struct.unpack(">I", header)
    return json.loads(stream.read(size))


def _write(stream: BinaryIO, message: Any) -> None:
    data = json.dumps(message, default=str).encode()
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def _error(kind: str, exc: BaseException) -> dict[str, Any]:
    return {
        "ok": False,
        "errorType": kind or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc)[-6:],
    }


def main() -> None:
    requests = os.fdopen(int(sys.argv[1]), "rb")
    responses = os.fdopen(int(sys.argv[2]), "wb")
    # Python put this file's folder first on the path; the function must not see our modules.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.append(os.environ["LOCAL_LAMBDA_CODE_DIR"])
    module_name, _, attribute = os.environ["_HANDLER"].rpartition(".")
    handler = None
    init_error: dict[str, Any] | None = None
    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:  # noqa: BLE001 - reported on each invocation, as Lambda does
        init_error = _error("Runtime.ImportModuleError", exc)
    init_ms = (time.perf_counter() - started) * 1000
    while True:
        request = _read(requests)
        if request is None:
            return
        if init_error is not None:
            _write(responses, {**init_error, "id": request["id"]})
            continue
        context = LambdaContext(request["request_id"], request["deadline_ms"])
        started = time.perf_counter()
        timing = {"init_ms": init_ms}
        init_ms = 0.0  # the init phase is reported once, with the first invocation
        try:
            result = handler(request["event"], context)  # type: ignore[misc]
            timing["handler_ms"] = (time.perf_counter() - started) * 1000
            _write(responses, {"id": request["id"], "ok": True, "result": result, **timing})
        except Exception as exc:  # noqa: BLE001 - a function error, as Lambda reports it
            timing["handler_ms"] = (time.perf_counter() - started) * 1000
            _write(responses, {**_error("", exc), "id": request["id"], **timing})
        finally:
            sys.stdout.flush()
            sys.stderr.flush()


if __name__ == "__main__":
    main()
