"""The AWS calls the code makes, found statically, as the IAM actions they need.

A Lambda's calls are `client("<service>").<operation>(...)`, or a name bound to such a client in
the same function, in the functions reachable from its `lambda_handler` (through `functions.*`
imports, call or reference); Powertools idempotency's DynamoDB calls count when a reachable
function builds a `DynamoDBPersistenceLayer`. The pipeline steps' calls are the operations of
the services each module makes a client for. Operation names come from botocore's models;
the IAM action is the API name, except where the S3 API reference says otherwise (below).
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path

import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
# Services whose operation names, called on something that is not a known client, are reported
# as unresolved rather than silently skipped.
SERVICES = ("s3", "dynamodb", "sagemaker", "sns")

# https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations.html, each operation's
# "Permissions": HeadObject is authorized as s3:GetObject; CopyObject reads its source and
# writes its target; ListObjectsV2 is s3:ListBucket; ListObjectVersions is s3:ListBucketVersions.
S3_ACTIONS = {
    "HeadObject": ("s3:GetObject",),
    "GetObject": ("s3:GetObject",),
    "CopyObject": ("s3:GetObject", "s3:PutObject"),
    "ListObjectsV2": ("s3:ListBucket",),
    "ListObjectVersions": ("s3:ListBucketVersions",),
}
S3_READS = ("HeadObject", "GetObject", "CopyObject")
# CreateModel hands the model its execution role.
EXTRA_ACTIONS = {("sagemaker", "CreateModel"): ("iam:PassRole",)}


@functools.cache
def operations(service: str) -> dict[str, str]:
    """snake_case method -> API operation name."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


@dataclass(frozen=True)
class Call:
    service: str
    operation: str  # API name, e.g. HeadObject
    where: str  # path:line
    keywords: frozenset[str] = frozenset()


@dataclass
class _Function:
    module: str
    calls: list[Call] = field(default_factory=list)
    references: set[tuple[str, str]] = field(default_factory=set)
    unresolved: list[str] = field(default_factory=list)


def _module_path(module: str) -> Path:
    path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
    return path if path.exists() else ROOT.joinpath(*module.split("."), "__init__.py")


def _client_service(node: ast.AST, bound: dict[str, str]) -> str | None:
    """The service of a receiver: `client("s3")`, or a name bound to one."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "client"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        return node.args[0].value
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    return None


@functools.cache
def _parse(module: str) -> dict[str, _Function]:
    """Each top-level function (and module-level assignment) of a module: its AWS calls and
    the functions it names."""
    path = _module_path(module)
    source = path.read_text()
    tree = ast.parse(source)
    imported: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("functions"):
            for alias in node.names:
                imported[alias.asname or alias.name] = (node.module, alias.name)
    local = {
        n.name
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    local |= {
        t.id
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    rel = path.relative_to(ROOT).as_posix()
    units: dict[str, _Function] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = node.name
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        else:
            continue
        unit = units.setdefault(name, _Function(module))
        bound = {
            t.id: service
            for n in ast.walk(node)
            if isinstance(n, ast.Assign) and (service := _client_service(n.value, {}))
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for n in ast.walk(node):
            if isinstance(n, ast.Name):
                if n.id in imported:
                    unit.references.add(imported[n.id])
                elif n.id in local and n.id != name:
                    unit.references.add((module, n.id))
                if n.id == "DynamoDBPersistenceLayer":
                    unit.calls.extend(powertools_idempotency_calls())
            if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)):
                continue
            method, receiver = n.func.attr, n.func.value
            service = _client_service(receiver, bound)
            where = f"{rel}:{n.lineno}"
            if method == "get_paginator" and service:
                method = n.args[0].value
            if service:
                if method not in operations(service):
                    continue  # e.g. `.exceptions`, `.meta`
                keywords = frozenset(k.arg for k in n.keywords if k.arg)
                unit.calls.append(Call(service, operations(service)[method], where, keywords))
            elif any(method in operations(s) for s in SERVICES) and not (
                isinstance(receiver, ast.Name) and receiver.id in ("re", "json", "os")
            ):
                unit.unresolved.append(f"{where} .{method}(")
    return units


@functools.cache
def powertools_idempotency_calls() -> tuple[Call, ...]:
    """The DynamoDB operations Powertools' idempotency persistence layer makes."""
    from aws_lambda_powertools.utilities.idempotency.persistence import dynamodb

    source = inspect.getsource(dynamodb)
    names = sorted(set(re.findall(r"self\.client\.(\w+)\(", source)))
    return tuple(
        Call("dynamodb", operations("dynamodb")[n], f"powertools:{dynamodb.__name__}")
        for n in names
    )


@dataclass(frozen=True)
class CodeCalls:
    calls: tuple[Call, ...]
    modules: frozenset[str]
    unresolved: tuple[str, ...]

    def actions(self) -> dict[str, list[str]]:
        """IAM action -> where the code needs it."""
        needed: dict[str, list[str]] = {}
        for call in self.calls:
            for action in iam_actions(call, _parse_source(call)):
                needed.setdefault(action, []).append(call.where)
        return needed


def _parse_source(call: Call) -> str:
    path = call.where.rsplit(":", 1)[0]
    return (ROOT / path).read_text() if (ROOT / path).exists() else ""


# A VersionId sent with a request (a keyword, or a parameter dict's key), not one read from a
# response (`head.get("VersionId")`).
_PASSES_VERSION_ID = re.compile(r'VersionId=|\["VersionId"\]\s*=[^=]|"VersionId":')


def iam_actions(call: Call, module_source: str) -> tuple[str, ...]:
    """The actions one call needs. S3 reads of a module that passes VersionId need
    s3:GetObjectVersion too; reads of a module that tells a missing key (404, NoSuchKey) from
    a denied one need s3:ListBucket (without it S3 answers 403)."""
    if call.service == "s3":
        actions = list(S3_ACTIONS.get(call.operation, (f"s3:{call.operation}",)))
        if call.operation == "DeleteObject" and "VersionId" in call.keywords:
            actions = ["s3:DeleteObjectVersion"]
        if call.operation in S3_READS:
            if _PASSES_VERSION_ID.search(module_source):
                actions.append("s3:GetObjectVersion")
            if re.search(r"NoSuchKey|\"404\"", module_source):
                actions.append("s3:ListBucket")
        return tuple(actions)
    return (
        f"{call.service}:{call.operation}",
        *EXTRA_ACTIONS.get((call.service, call.operation), ()),
    )


def lambda_calls(function: str) -> CodeCalls:
    """Every call reachable from functions/<function>/handler.py's lambda_handler."""
    start = (f"functions.{function}.handler", "lambda_handler")
    seen: set[tuple[str, str]] = set()
    todo = [start]
    calls: list[Call] = []
    unresolved: list[str] = []
    while todo:
        module, name = todo.pop()
        if (module, name) in seen:
            continue
        seen.add((module, name))
        units = _parse(module)
        unit = units.get(name)
        if unit is None:
            continue  # a name imported from a package __init__ or a constant
        calls.extend(unit.calls)
        unresolved.extend(unit.unresolved)
        todo.extend(unit.references - seen)
    return CodeCalls(tuple(calls), frozenset(m for m, _ in seen), tuple(unresolved))


def pipeline_step_calls(package: Path = ROOT / "pipelines") -> CodeCalls:
    """The AWS calls of the code that runs in the jobs (entry points, steps, drift engine)."""
    calls: list[Call] = []
    for path in sorted(package.rglob("*.py")):
        source = path.read_text()
        services = set(re.findall(r"boto3\.client\(\"(\w+)\"\)", source))
        if "s3_client()" in source:
            services.add("s3")
        for node in ast.walk(ast.parse(source)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method = node.func.attr
            if method == "get_paginator" and node.args:
                method = node.args[0].value
            for service in services:
                if method in operations(service):
                    where = f"{path.relative_to(ROOT).as_posix()}:{node.lineno}"
                    calls.append(Call(service, operations(service)[method], where))
    return CodeCalls(tuple(calls), frozenset(), ())
