"""What a handler's cold start loads in Lambda, with tracing on as deployed.

Runs in a fresh interpreter with Lambda's runtime variables (the same environment the cold-start
benchmark uses), so the X-Ray SDK and Powertools behave as they do in a real function.
"""

from __future__ import annotations

import json

import pytest

from benchmarks.cold_start.__main__ import HANDLERS, run_as_lambda

_PROBE = """
import json, sys
import functions.{name}.handler as handler
from functions.shared.observability import tracer
print(json.dumps({{
    "modules": sorted(sys.modules),
    "tracer_disabled": tracer.disabled,
    "handler": callable(handler.lambda_handler),
}}))
"""


@pytest.fixture(scope="module")
def loaded() -> dict[str, dict]:
    return {name: json.loads(run_as_lambda(_PROBE.format(name=name))) for name in HANDLERS}


@pytest.mark.parametrize("name", HANDLERS)
def test_tracing_is_on_and_patches_only_botocore(loaded: dict[str, dict], name: str) -> None:
    probe = loaded[name]
    assert probe["handler"]
    assert probe["tracer_disabled"] is False
    assert "aws_xray_sdk.ext.botocore.patch" in probe["modules"]
    # Patching everything would import each library the X-Ray SDK can patch that is installed
    # (here: sqlalchemy, requests, httpx, from the dev tools), none of which a handler uses.
    patched = {
        m for m in probe["modules"] if m.startswith("aws_xray_sdk.ext.") and m.endswith(".patch")
    }
    assert patched == {"aws_xray_sdk.ext.botocore.patch"}


@pytest.mark.parametrize("name", HANDLERS)
def test_no_heavy_library_at_import(loaded: dict[str, dict], name: str) -> None:
    # The handlers are boto3-only: no SageMaker SDK, no pandas, no database layers.
    heavy = {"sagemaker", "pandas", "numpy", "sqlalchemy", "requests", "httpx"}
    assert heavy.isdisjoint(m.split(".")[0] for m in loaded[name]["modules"])
