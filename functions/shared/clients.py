"""Cached AWS client factory.

Clients are created on first use, never at import: import stays cheap for cold starts and tests
can start moto before any client exists (and call `client.cache_clear()` between tests).
Retries on throttling and 5xx come from botocore's retry modes, not from loops in our code.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

# Standard mode retries throttling, transient and 5xx errors with exponential backoff and jitter.
# In the `retries` dict, max_attempts counts retries after the first call: up to six calls over a
# few seconds; past that the invocation fails and the async invocation's own retries and its
# on-failure destination (DLQ) take over.
RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
)


@functools.cache
def client(service: str) -> Any:
    """One boto3 client per service for the life of the container."""
    return boto3.client(service, config=RETRY_CONFIG)
