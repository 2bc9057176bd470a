"""What an AWS request is, read with botocore's own service models: service, operation, parameters
and the caller's access key.

The front (`emulator.front`) identifies every request with this before it decides who answers
it, so providers, the event observers and the authorizer all see the same parsed request. The
service comes from the SigV4 credential scope (`.../<region>/<signing name>/aws4_request`), the
operation from the protocol's own marker (JSON `X-Amz-Target`, query `Action`, RPCv2 CBOR path,
or the REST method and URI template), and the parameters from the operation's input shape.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import RpcV2CBORParser

_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_LABEL = re.compile(r"\{([^}+]+)(\+?)\}")

# Signing names shared by several services, or unlike any service name.
_SIGNING_ALIASES = {
    "monitoring": ("cloudwatch",),
    "sagemaker": ("sagemaker", "sagemaker-runtime"),
    "events": ("events",),
    "execute-api": ("apigateway",),
}


class UnknownRequest(LookupError):
    """The request names no operation of any service model botocore knows."""


@dataclass(frozen=True)
class AwsRequest:
    service: str  # botocore's service name: "s3", "sagemaker-runtime", "cloudwatch"
    operation: str  # "PutObject"
    params: dict[str, Any]
    region: str
    access_key: str | None
    method: str
    path: str  # decoded, without the query string
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    model: OperationModel = field(repr=False, compare=False)
    # The WSGI environ it came in (set by the front), so a provider can hand it on to moto.
    environ: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def signing_name(self) -> str:
        return self.model.service_model.signing_name or self.service

    @property
    def protocol(self) -> str:
        return wire_protocol(self.model.service_model, self.headers, self.path)


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def service_model(name: str) -> ServiceModel:
    return _session().get_service_model(name)


@functools.cache
def _services_signing_as(signing_name: str) -> tuple[str, ...]:
    if signing_name in _SIGNING_ALIASES:
        return _SIGNING_ALIASES[signing_name]
    available = _session().get_available_services()
    if signing_name in available:
        return (signing_name,)
    # A rare service: read every model once to find who signs with this name.
    return tuple(n for n in available if service_model(n).signing_name == signing_name)


@functools.cache
def _json_targets(service: str) -> tuple[str, dict[str, str]]:
    model = service_model(service)
    return model.metadata.get("targetPrefix", ""), {n: n for n in model.operation_names}


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    literal_query: tuple[tuple[str, str | None], ...]  # ?versioning, ?list-type=2
    required: tuple[tuple[str, str], ...]  # (location, wire name) of required header/query members
    specificity: int


@functools.cache
def _rest_routes(service: str) -> tuple[_Route, ...]:
    model = service_model(service)
    routes = []
    for name in model.operation_names:
        op = model.operation_model(name)
        uri = op.http["requestUri"]
        path, _, literal = uri.partition("?")
        regex, pos = "", 0
        for match in _LABEL.finditer(path):
            regex += re.escape(path[pos : match.start()])
            greedy = match.group(2) == "+"
            regex += f"(?P<{_group(match.group(1))}>{'.+' if greedy else '[^/]+'})"
            pos = match.end()
        regex += re.escape(path[pos:])
        literal_query = tuple(
            (k, v[0] if v else None)
            for k, v in (
                (part.split("=", 1)[0], part.split("=", 1)[1:])
                for part in literal.split("&")
                if part
            )
        )
        required = []
        shape = op.input_shape
        if shape is not None:
            for member in shape.required_members:
                where = shape.members[member].serialization
                if where.get("location") in ("header", "querystring"):
                    required.append((where["location"], where.get("name", member)))
        literal_chars = len(re.sub(_LABEL, "", path))
        routes.append(
            _Route(
                name,
                op.http["method"],
                re.compile(f"^{regex}/?$"),
                literal_query,
                tuple(required),
                # A deprecated operation sharing its URI with a current one (S3's
                # PutBucketNotification) loses the tie: clients send the current one.
                literal_chars + 100 * len(literal_query) + 10 * len(required) - op.deprecated,
            )
        )
    return tuple(sorted(routes, key=lambda r: -r.specificity))


def _group(label: str) -> str:
    return "L_" + re.sub(r"\W", "_", label)


def identify(
    *,
    method: str,
    path: str,
    query_string: str,
    headers: Mapping[str, str],
    body: bytes,
) -> AwsRequest:
    """Parse one HTTP request; raise UnknownRequest when no service model explains it."""
    headers = {k.lower(): v for k, v in headers.items()}
    query = parse_qs(query_string, keep_blank_values=True)
    access_key, region, signing = _credential(headers, query)
    if signing is None:
        raise UnknownRequest(f"unsigned request {method} {path}")
    for service in _services_signing_as(signing):
        model = service_model(service)
        found = _operation(model, method, path, query, headers, body)
        if found is None:
            continue
        operation, labels = found
        op = model.operation_model(operation)
        params = _params(op, labels, path, query, headers, body)
        return AwsRequest(
            service=service,
            operation=operation,
            params=params,
            region=region,
            access_key=access_key,
            method=method,
            path=path,
            query=query,
            headers=headers,
            body=body,
            model=op,
        )
    raise UnknownRequest(f"no {signing} operation matches {method} {path}")


def _credential(
    headers: Mapping[str, str], query: Mapping[str, list[str]]
) -> tuple[str | None, str, str | None]:
    scope = _SCOPE.search(headers.get("authorization", ""))
    if scope:
        return scope.group(1), scope.group(2), scope.group(3)
    credential = (query.get("X-Amz-Credential") or [""])[0]  # a presigned URL
    parts = credential.split("/")
    if len(parts) == 5:
        return parts[0], parts[2], parts[3]
    return None, "us-east-1", None


def _operation(
    model: ServiceModel,
    method: str,
    path: str,
    query: Mapping[str, list[str]],
    headers: Mapping[str, str],
    body: bytes,
) -> tuple[str, dict[str, str]] | None:
    protocols = model.metadata.get("protocols") or [model.protocol]
    if "json" in protocols and "x-amz-target" in headers:
        prefix = model.metadata.get("targetPrefix", "")
        target_prefix, _, name = headers["x-amz-target"].rpartition(".")
        ok = target_prefix == prefix and name in model.operation_names
        return (name, {}) if ok else None
    if "smithy-rpc-v2-cbor" in protocols and path.startswith("/service/"):
        match = re.match(r"^/service/[^/]+/operation/([^/]+)$", path)
        ok = match is not None and match.group(1) in model.operation_names
        return (match.group(1), {}) if ok else None  # type: ignore[union-attr]
    if {"query", "ec2"} & set(protocols):
        action = (query.get("Action") or _form(headers, body).get("Action") or [""])[0]
        return (action, {}) if action in model.operation_names else None
    for route in _rest_routes(model.service_name):
        if route.method != method:
            continue
        match = route.pattern.match(path)
        if match is None:
            continue
        if any(
            k not in query or (v is not None and query[k][0] != v) for k, v in route.literal_query
        ):
            continue
        present = all(
            (name.lower() in headers) if where == "header" else (name in query)
            for where, name in route.required
        )
        if present:
            labels = {k[2:]: unquote(v) for k, v in match.groupdict().items()}
            return route.operation, labels
    return None


def wire_protocol(model: ServiceModel, headers: Mapping[str, str], path: str) -> str:
    """The protocol this request was sent in (a service may accept several)."""
    protocols = model.metadata.get("protocols") or [model.protocol]
    if "json" in protocols and "x-amz-target" in headers:
        return "json"
    if "smithy-rpc-v2-cbor" in protocols and path.startswith("/service/"):
        return "smithy-rpc-v2-cbor"
    for candidate in ("query", "ec2"):
        if candidate in protocols and model.protocol not in ("rest-json", "rest-xml"):
            return candidate
    return model.protocol


def _form(headers: Mapping[str, str], body: bytes) -> dict[str, list[str]]:
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {}


def _params(
    op: OperationModel,
    labels: Mapping[str, str],
    path: str,
    query: Mapping[str, list[str]],
    headers: Mapping[str, str],
    body: bytes,
) -> dict[str, Any]:
    shape = op.input_shape
    if shape is None:
        return {}
    protocol = wire_protocol(op.service_model, headers, path)
    try:
        if protocol == "json":
            return json.loads(body or b"{}")
        if protocol == "smithy-rpc-v2-cbor":
            if not body:
                return {}
            parser = RpcV2CBORParser()
            return parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))
        if protocol in ("query", "ec2"):
            flat = {k: v[0] for k, v in {**query, **_form(headers, body)}.items()}
            return _from_query(shape, flat, "")
    except (ValueError, UnicodeDecodeError):
        return {}
    params: dict[str, Any] = {}
    payload = shape.serialization.get("payload")
    for name, member in shape.members.items():
        where = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if where == "uri" and wire in labels:
            params[name] = labels[wire]
        elif where == "querystring" and wire in query:
            params[name] = query[wire] if member.type_name == "list" else query[wire][0]
        elif where == "header" and wire.lower() in headers:
            params[name] = headers[wire.lower()]
        elif name == payload:
            params[name] = body if member.type_name in ("blob", "string") else None
    if payload is None and protocol == "rest-json" and body:
        with contextlib.suppress(ValueError):
            params.update(json.loads(body))
    return params


def _from_query(shape: Shape, flat: Mapping[str, str], path: str) -> Any:
    """The query protocol's flattened `A.member.1.B=x` form back into nested values."""
    kind = shape.type_name

    def under(key: str) -> bool:
        return key in flat or any(k.startswith(key + ".") for k in flat)

    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            key = f"{path}.{wire}" if path else wire
            if under(key):
                out[name] = _from_query(member, flat, key)
        return out
    if kind == "list":
        stem = path if shape.serialization.get("flattened") else f"{path}.member"
        items, i = [], 1
        while under(f"{stem}.{i}"):
            items.append(_from_query(shape.member, flat, f"{stem}.{i}"))  # type: ignore[attr-defined]
            i += 1
        return items
    if kind == "map":
        out, i = {}, 1
        key_name = shape.key.serialization.get("name", "key")  # type: ignore[attr-defined]
        value_name = shape.value.serialization.get("name", "value")  # type: ignore[attr-defined]
        stem = path if shape.serialization.get("flattened") else f"{path}.entry"
        while f"{stem}.{i}.{key_name}" in flat:
            value_shape = shape.value  # type: ignore[attr-defined]
            out[flat[f"{stem}.{i}.{key_name}"]] = _from_query(
                value_shape, flat, f"{stem}.{i}.{value_name}"
            )
            i += 1
        return out
    return flat.get(path)


def read_stream(environ: Mapping[str, Any]) -> bytes:
    """The request body of a WSGI environ, whatever its framing."""
    stream = environ.get("wsgi.input") or io.BytesIO()
    length = environ.get("CONTENT_LENGTH")
    if length:
        return stream.read(int(length))
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        return stream.read()
    return b""
