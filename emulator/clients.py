"""boto3 clients of the local runtime: every one points at the in-process moto server."""

from __future__ import annotations

import threading
from typing import Any

import boto3

# moto accepts any credentials; fixed ones keep a user's real profile out of the local loop.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


# Creating a botocore client iterates os.environ (its proxy lookup reads every variable), while
# the Lambda runtime sets and removes a function's variables around each invocation. Whoever
# changes os.environ holds this lock, and so does every client created here, so a client built
# on another thread (endpoint host, pipeline executor) never reads the environment halfway
# through a change: that was a KeyError naming a variable that had just been removed.
ENV_LOCK = threading.RLock()


def local_client(service: str, *, endpoint_url: str, region: str) -> Any:
    with ENV_LOCK:
        return boto3.client(
            service, endpoint_url=endpoint_url, region_name=region, **LOCAL_CREDENTIALS
        )
