"""Every infra test reads the templates synthesized once per session (tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dev(synthesize):
    return synthesize("dev")


@pytest.fixture(scope="session")
def prod(synthesize):
    return synthesize("prod")
