"""`LocalCloud`: moto behind the runtime's front, on one URL, with one set of credentials per
principal.

moto's state is process-wide, so one LocalCloud runs per process at a time; starting one resets
moto, so each run begins empty. The user's own credentials (any key, e.g. `testing`) act as the
account's administrator; every Lambda function, pipeline job and endpoint gets credentials of its
own role from STS `AssumeRole`, and `principal(access_key)` tells who signed a request.
"""

from __future__ import annotations

import io
import logging
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any, ClassVar

import boto3
from botocore.config import Config
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from emulator.front import Front

ACCOUNT = "123456789012"  # moto's default account: ARNs match the sample events
REGION = "us-east-1"
USER_KEY = "testing"  # the user's credentials: the account's administrator

# Local calls fail fast: a retry storm against our own process would only hide a bug.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=120
)


class LocalCloudError(RuntimeError):
    """The local cloud cannot start or was used in a state it does not support."""


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str | None = None

    def env(self) -> dict[str, str]:
        out = {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        if self.session_token:
            out["AWS_SESSION_TOKEN"] = self.session_token
        return out


USER = Credentials(USER_KEY, USER_KEY)


class _Raw:
    """The raw body botocore reads a response from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        body, self._body = self._body, b""
        return body


class LocalCloud:
    _active: ClassVar[LocalCloud | None] = None

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        # 0: the server binds a free port itself at start. Picking one first and binding it
        # later left a gap in which another process (a second test run) took the same port.
        self.port = port
        self.account = ACCOUNT
        self.region = REGION
        self.front = Front(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._clients: dict[tuple[str, Credentials], Any] = {}
        self._principals: dict[str, str] = {}  # access key -> principal ARN
        self._sessions: dict[str, str] = {}  # access key -> assumed-role session ARN
        self._lock = threading.Lock()
        self._werkzeug_level = logging.NOTSET

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self, credentials: Credentials = USER) -> dict[str, str]:
        """What a process needs in its environment to call this cloud as `credentials`."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            **credentials.env(),
        }

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalCloud:
        if LocalCloud._active is not None:
            raise LocalCloudError(
                f"a LocalCloud already runs at {LocalCloud._active.endpoint_url}: moto's state "
                "is process-wide, stop it first"
            )
        LocalCloud._active = self
        try:
            # Werkzeug logs every request at INFO; the runtime's own timeline is the record.
            self._werkzeug_level = logging.getLogger("werkzeug").level
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            try:
                self._server = make_server(
                    self.host,
                    self.port,
                    self.front,
                    threaded=True,
                    request_handler=MotoRequestHandler,
                )
            except SystemExit as exc:  # werkzeug exits the process when the port is taken
                raise LocalCloudError(
                    f"cannot listen on {self.host}:{self.port}: the port is in use"
                ) from exc
            self.port = int(self._server.server_port)
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="local-cloud", daemon=True
            )
            self._thread.start()
            request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
            urllib.request.urlopen(request, timeout=10).close()
        except BaseException:
            self.stop()  # also clears _active: a failed start leaves nothing behind
            raise
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        logging.getLogger("werkzeug").setLevel(self._werkzeug_level)
        self.front.clear()
        self._clients.clear()
        self._principals.clear()
        self._sessions.clear()
        if LocalCloud._active is self:
            LocalCloud._active = None

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- clients and principals ------------------------------------------------------------

    def client(self, service: str, credentials: Credentials = USER) -> Any:
        """A boto3 client of this cloud, signing as `credentials` (default: the user)."""
        key = (service, credentials)
        with self._lock:
            if key not in self._clients:
                session = boto3.session.Session(
                    aws_access_key_id=credentials.access_key,
                    aws_secret_access_key=credentials.secret_key,
                    aws_session_token=credentials.session_token,
                    region_name=self.region,
                )
                self._clients[key] = session.client(
                    service, endpoint_url=self.endpoint_url, config=_CONFIG
                )
            return self._clients[key]

    def moto_client(self, service: str) -> Any:
        """A client whose requests go to moto directly, past every provider and observer: for a
        provider that builds its answer on moto's without triggering itself again."""
        key = (f"moto:{service}", USER)
        with self._lock:
            if key in self._clients:
                return self._clients[key]
        client = boto3.session.Session(
            aws_access_key_id=USER.access_key,
            aws_secret_access_key=USER.secret_key,
            region_name=self.region,
        ).client(service, endpoint_url=self.endpoint_url, config=_CONFIG)
        client.meta.events.register("before-send", self._send_to_moto)
        with self._lock:
            self._clients[key] = client
        return client

    def _send_to_moto(self, request: Any, **_: Any) -> Any:
        from urllib.parse import unquote, urlsplit

        from botocore.awsrequest import AWSResponse

        url = urlsplit(request.url)
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "PATH_INFO": unquote(url.path).encode("utf-8").decode("latin-1"),
            "QUERY_STRING": url.query,
            "SERVER_NAME": self.host,
            "SERVER_PORT": str(self.port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_HOST": f"{self.host}:{self.port}",
        }
        for name, value in request.headers.items():
            text = value.decode() if isinstance(value, bytes) else str(value)
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = text
            else:
                environ[f"HTTP_{key}"] = text
        reply = self.front.forward(environ)
        return AWSResponse(request.url, reply.status, reply.headers, _Raw(reply.body))

    def assume_role(self, role_arn: str, session_name: str) -> Credentials:
        """Credentials of `role_arn`, as the service that runs under it receives them."""
        creds = self.client("sts").assume_role(
            RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=43200
        )["Credentials"]
        out = Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        role_name = role_arn.rsplit("/", 1)[-1]
        with self._lock:
            self._principals[out.access_key] = role_arn
            self._sessions[out.access_key] = (
                f"arn:aws:sts::{self.account}:assumed-role/{role_name}/{session_name[:64]}"
            )
        return out

    def principal(self, access_key: str | None) -> str | None:
        """The role ARN behind an access key the runtime issued; None for the user's own."""
        return self._principals.get(access_key or "")

    def caller_arn(self, access_key: str | None) -> str | None:
        """The assumed-role session ARN behind a role's access key, as IAM names the caller
        (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`); None for the user's own."""
        return self._sessions.get(access_key or "")
