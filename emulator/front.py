"""The one front on the runtime's URL: every request is identified, then answered by the provider
that owns its operation or handed to moto untouched.

Providers (`emulator.providers`) own the operations moto lacks; observers see a request and its
reply after the fact (an S3 object written, a metric put, a rule changed) without changing it.
Both are registered in one table per runtime. moto runs in this process as its own WSGI
application (what `moto.server` serves); the front calls it directly, so forwarding adds no
network hop.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from emulator.requests import AwsRequest, UnknownRequest, identify, read_stream

log = logging.getLogger(__name__)


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class ServiceError(Exception):
    """An AWS error answer: raised by providers, serialized in the request's protocol."""

    def __init__(self, code: str, message: str, status: int = 400, **fields: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.fields = code, message, status, fields


Handler = Callable[[AwsRequest], Reply]
Observer = Callable[[AwsRequest, Reply], None]


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.timestamp()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot serialize {type(value).__name__}")


def json_reply(
    data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Reply:
    """A JSON-protocol answer (timestamps as epoch seconds, as the JSON protocols send them)."""
    body = json.dumps(data, default=_default).encode()
    out = {"Content-Type": "application/x-amz-json-1.1", **(headers or {})}
    return Reply(status, out, body)


def error_reply(request: AwsRequest | None, error: ServiceError) -> Reply:
    protocol = request.protocol if request is not None else "json"
    if protocol == "rest-xml":
        body = (
            f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
            "<RequestId>local</RequestId></Error>"
        ).encode()
        return Reply(error.status, {"Content-Type": "application/xml"}, body)
    if protocol in ("query", "ec2"):
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
            "</Error><RequestId>local</RequestId></ErrorResponse>"
        ).encode()
        return Reply(error.status, {"Content-Type": "text/xml"}, body)
    payload = {"__type": error.code, "message": error.message, **error.fields}
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": error.code}
    return Reply(error.status, headers, json.dumps(payload, default=_default).encode())


class Front:
    """A WSGI application: `Front(moto_app)`, then `own(...)`/`observe(...)` per operation."""

    def __init__(self, moto_app: Callable[..., Iterable[bytes]]) -> None:
        self.moto_app = moto_app
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._observers: dict[tuple[str, str], list[Observer]] = {}
        self._lock = threading.Lock()
        # Decides whether a request may proceed; None means it may (see `emulator.authorizer`).
        self.authorize: Callable[[AwsRequest], ServiceError | None] | None = None
        # Per service: what the service refuses before it acts (`emulator.service_rules`).
        self._rules: dict[str, list[Callable[[AwsRequest], ServiceError | None]]] = {}

    def rule(self, service: str, check: Callable[[AwsRequest], ServiceError | None]) -> None:
        with self._lock:
            self._rules.setdefault(service, []).append(check)

    def own(self, service: str, operation: str, handler: Handler) -> None:
        with self._lock:
            if (service, operation) in self._handlers:
                raise ValueError(f"{service}:{operation} already has a provider")
            self._handlers[(service, operation)] = handler

    def observe(self, service: str, operation: str, observer: Observer) -> None:
        with self._lock:
            self._observers.setdefault((service, operation), []).append(observer)

    def clear(self) -> None:
        with self._lock:
            self._handlers.clear()
            self._observers.clear()
            self._rules.clear()

    def owned(self) -> list[tuple[str, str]]:
        return sorted(self._handlers)

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        body = read_stream(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        path = environ.get("PATH_INFO", "")
        request = None
        if not path.startswith("/moto-api"):
            try:
                request = identify(
                    method=environ["REQUEST_METHOD"],
                    path=path.encode("latin-1").decode("utf-8", "replace"),
                    query_string=environ.get("QUERY_STRING", ""),
                    headers=_headers(environ),
                    body=body,
                )
                request = replace(request, environ=environ)
            except UnknownRequest:
                request = None
        reply = self.dispatch(request, environ)
        headers = list(reply.headers.items())
        if environ["REQUEST_METHOD"] != "HEAD":  # HEAD answers keep the object's length
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(reply.body))))
        start_response(f"{reply.status} {_REASONS.get(reply.status, 'Status')}", headers)
        return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [reply.body]

    def dispatch(self, request: AwsRequest | None, environ: dict[str, Any]) -> Reply:
        if request is None:
            return self.forward(environ)
        key = (request.service, request.operation)
        try:
            if self.authorize is not None:
                denied = self.authorize(request)
                if denied is not None:
                    raise denied
            for check in self._rules.get(request.service, ()):
                refused = check(request)
                if refused is not None:
                    raise refused
            handler = self._handlers.get(key)
            reply = handler(request) if handler is not None else self.forward(environ)
        except ServiceError as error:
            reply = error_reply(request, error)
        except Exception as exc:  # noqa: BLE001 - a provider bug is AWS's InternalFailure, logged
            log.exception("%s:%s failed in the local runtime", *key)
            reply = error_reply(request, ServiceError("InternalFailure", str(exc), 500))
        if reply.ok:
            for observer in self._observers.get(key, []):
                try:
                    observer(request, reply)
                except Exception:  # noqa: BLE001 - observing must never change the answer
                    log.exception("observer of %s:%s failed", *key)
        return reply

    def forward(self, environ: dict[str, Any] | None) -> Reply:
        """The request (its WSGI environ) as moto answers it."""
        if environ is None:
            raise ValueError("only a request that came through the front can be forwarded")
        environ["wsgi.input"].seek(0)
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = headers

        chunks = self.moto_app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        headers: dict[str, str] = {}
        for name, value in captured.get("headers", []):
            headers[name] = value if name not in headers else f"{headers[name]}, {value}"
        return Reply(captured.get("status", 500), headers, body)


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out[key[5:].replace("_", "-").lower()] = value
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            out[key.replace("_", "-").lower()] = environ[key]
    return out


_REASONS = {
    200: "OK",
    202: "Accepted",
    204: "No Content",
    206: "Partial Content",
    304: "Not Modified",
    307: "Temporary Redirect",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    424: "Failed Dependency",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
