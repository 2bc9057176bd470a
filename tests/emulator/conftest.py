"""Emulator tests deploy the very template `cdk deploy` would (synthesized once per session)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def dev_template(synthesize) -> dict[str, Any]:
    return synthesize("dev").raw


# The SageMaker-side fixtures (module-scoped moto server, one executed training run) live in
# sagemaker_fixtures.py; importing them here makes them visible to every test module.
from sagemaker_fixtures import cloud, good_run  # noqa: E402, F401
