"""The Lambda runtime changes os.environ around each invocation; other threads build clients."""

from __future__ import annotations

import threading
import time

from emulator.clients import local_client
from emulator.lambda_runtime import _environment


def test_clients_built_on_other_threads_never_see_a_half_changed_environment() -> None:
    # botocore reads every variable while building a client (its proxy lookup): without the
    # shared lock, a variable removed mid-read was a KeyError that failed a deployment.
    errors: list[BaseException] = []
    stop = threading.Event()

    def build_clients() -> None:
        while not stop.is_set():
            try:
                local_client("s3", endpoint_url="http://127.0.0.1:9", region="us-east-1")
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)
                return

    builder = threading.Thread(target=build_clients)
    builder.start()
    variables = {f"MLOPS_TEST_INVOCATION_{i}": "x" for i in range(200)}
    deadline = time.monotonic() + 3.0
    try:
        while time.monotonic() < deadline and not errors:
            with _environment(variables):
                pass
    finally:
        stop.set()
        builder.join()
    assert errors == []
