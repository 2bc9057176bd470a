"""boto3 clients of the local runtime: every one points at the in-process moto server."""

from __future__ import annotations

from typing import Any

import boto3

# moto accepts any credentials; fixed ones keep a user's real profile out of the local loop.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def local_client(service: str, *, endpoint_url: str, region: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, **LOCAL_CREDENTIALS)
