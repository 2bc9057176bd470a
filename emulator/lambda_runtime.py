"""Run a deployed function's handler in-process with its own environment, as Lambda would.

The handlers read their settings at import (cold start) and cache AWS clients with
functools.cache, so one process hosting four functions must keep them apart:

- each invocation runs under one lock with `os.environ` holding the function's variables from
  the template plus the cloud's (endpoint, fake credentials, region) and the Lambda runtime's own
  (`AWS_LAMBDA_FUNCTION_NAME`, ...); only those keys are set and then restored, never the whole
  environment, because moto's and the executor's threads read it concurrently;
- a handler module is imported with its function's environment, and re-imported (reload) when a
  function with another environment imported it last — its module-level `settings` are then right;
- every functools cache in `functions.*` (the client factory, the idempotency layer built on first
  use) is cleared when the function changes, so no client or table name leaks across functions;
- the shared Powertools logger and metrics are created once per process (at the first import):
  their service name, namespace and level are re-pointed at the function being invoked.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from emulator.clients import ENV_LOCK
from emulator.deployer import FunctionSpec
from emulator.lambda_context import LambdaContext

_LOCK = threading.RLock()
_LOADED: dict[str, str] = {}  # handler module -> fingerprint of the env it was imported with
_last_fingerprint: str | None = None


def function_env(spec: FunctionSpec, cloud_env: Mapping[str, str]) -> dict[str, str]:
    return {
        **cloud_env,
        **spec.environment,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        # No X-Ray daemon locally: with tracing on, the SDK would only log emitter errors.
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def invoke(spec: FunctionSpec, event: dict[str, Any], cloud_env: Mapping[str, str]) -> Any:
    """Invoke the function's handler once; its exception propagates (a function error)."""
    global _last_fingerprint
    env = function_env(spec, cloud_env)
    fingerprint = hashlib.sha256(json.dumps(env, sort_keys=True).encode()).hexdigest()
    module_name, _, attribute = spec.handler.rpartition(".")
    with _LOCK, _environment(env):
        if fingerprint != _last_fingerprint:
            _clear_function_caches()
            _last_fingerprint = fingerprint
        module = _load(module_name, fingerprint)
        _retarget_observability(env)
        handler = getattr(module, attribute)
        context = LambdaContext(
            function_name=spec.name,
            invoked_function_arn=spec.arn,
            memory_limit_in_mb=spec.memory,
            timeout_seconds=spec.timeout,
        )
        return handler(event, context)


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    with ENV_LOCK:
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
    try:
        yield
    finally:
        with ENV_LOCK:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _load(module_name: str, fingerprint: str) -> Any:
    module = sys.modules.get(module_name)
    if module is not None and _LOADED.get(module_name) == fingerprint:
        return module
    # Record before running module code: a failing cold start must be retried next time.
    _LOADED.pop(module_name, None)
    module = importlib.import_module(module_name) if module is None else importlib.reload(module)
    _LOADED[module_name] = fingerprint
    return module


def _clear_function_caches() -> None:
    for name, module in list(sys.modules.items()):
        if name != "functions" and not name.startswith("functions."):
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == name:
                clear()


def _retarget_observability(env: Mapping[str, str]) -> None:
    observability = sys.modules.get("functions.shared.observability")
    if observability is None:
        return
    service = env.get("POWERTOOLS_SERVICE_NAME", "service_undefined")
    observability.logger.append_keys(service=service)
    observability.logger.setLevel(env.get("POWERTOOLS_LOG_LEVEL", "INFO"))
    observability.metrics.service = service
    if "POWERTOOLS_METRICS_NAMESPACE" in env:
        observability.metrics.namespace = env["POWERTOOLS_METRICS_NAMESPACE"]
