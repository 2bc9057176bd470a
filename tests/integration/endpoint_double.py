"""SageMaker's endpoint API as its reference documents it, for the deploy handler under moto.

moto has no UpdateEndpoint and settles every endpoint at once, so the handler's decisions about
busy, failed and rolled-back endpoints cannot be shown with it. This double replaces only the
endpoint calls of the handler's cached client; models, configs and packages stay in moto.
Statuses and errors follow https://docs.aws.amazon.com/sagemaker/latest/APIReference/
API_DescribeEndpoint.html and API_UpdateEndpoint.html.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from botocore.exceptions import ClientError

BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


def _error(message: str) -> ClientError:
    return ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "Endpoint")


@dataclass
class EndpointDouble:
    name: str
    status: str | None = None  # None: no endpoint
    config: str | None = None
    pending: str | None = None
    failure_reason: str = ""
    refuse: ClientError | None = None  # the next update fails with this
    modified: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    # -- the API --------------------------------------------------------------------------
    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:  # noqa: N803
        if self.status is None or EndpointName != self.name:
            raise _error(f'Could not find endpoint "{EndpointName}".')
        out = {
            "EndpointName": self.name,
            "EndpointStatus": self.status,
            "EndpointConfigName": self.config or self.pending,
            "LastModifiedTime": self.modified,
        }
        if self.failure_reason:
            out["FailureReason"] = self.failure_reason
        return out

    def create_endpoint(self, EndpointName: str, EndpointConfigName: str) -> dict:  # noqa: N803
        self.calls.append(("create", {"EndpointConfigName": EndpointConfigName}))
        if self.status is not None:
            raise _error(f'Cannot create already existing endpoint "{EndpointName}".')
        self.status, self.pending, self.config = "Creating", EndpointConfigName, None
        return {"EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{self.name}"}

    def update_endpoint(self, **kwargs: Any) -> dict:
        self.calls.append(("update", kwargs))
        if self.refuse is not None:
            error, self.refuse = self.refuse, None
            raise error
        if self.status in BUSY:
            raise _error(f'Cannot update in-progress endpoint "{self.name}".')
        if self.status == "Failed":
            raise _error(f'Cannot update endpoint "{self.name}" in status Failed.')
        self.status, self.pending = "Updating", kwargs["EndpointConfigName"]
        return {}

    def delete_endpoint(self, EndpointName: str) -> dict:  # noqa: N803
        self.calls.append(("delete", {}))
        if self.status is None:
            raise _error(f'Could not find endpoint "{EndpointName}".')
        self.status = self.config = self.pending = None  # deletion finishes at once here
        return {}

    # -- what SageMaker does in its own time ---------------------------------------------
    def settle(self, outcome: str = "live") -> None:
        """Finish the running operation: `live`, `rolled_back`, `failed` or `mixed`."""
        self.modified = datetime.now(UTC)
        if outcome == "live":
            self.status, self.config = "InService", self.pending
        elif outcome == "rolled_back":
            self.status = "InService"
        elif outcome == "failed":
            self.status, self.failure_reason = "Failed", "the container did not start"
        elif outcome == "mixed":
            self.status = "UpdateRollbackFailed"
        self.pending = None

    def requests(self, kind: str) -> list[dict[str, Any]]:
        return [kwargs for k, kwargs in self.calls if k == kind]


@contextlib.contextmanager
def installed(sagemaker_client: Any, endpoint: EndpointDouble) -> Iterator[EndpointDouble]:
    """Route the endpoint calls of `sagemaker_client` (the handler's cached one) to `endpoint`;
    its deletion waiter returns at once, as deletion does here."""
    with contextlib.ExitStack() as stack:
        for name in ("describe_endpoint", "create_endpoint", "update_endpoint", "delete_endpoint"):
            stack.enter_context(
                mock.patch.object(sagemaker_client, name, side_effect=getattr(endpoint, name))
            )
        stack.enter_context(mock.patch.object(sagemaker_client, "get_waiter"))
        yield endpoint
