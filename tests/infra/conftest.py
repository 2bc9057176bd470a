"""Every infra test reads the templates synthesized once per session (tests/conftest.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from infra.config import ConfigError, parse_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def dev(synthesize):
    return synthesize("dev")


@pytest.fixture(scope="session")
def prod(synthesize):
    return synthesize("prod")


def labelled_config() -> dict:
    """dev.json with retrain.labelled_traffic on: retrains also list and read the endpoint's
    capture and ground-truth folders."""
    base = json.loads((REPO / "config/dev.json").read_text())
    base["retrain"]["labelled_traffic"] = {"enabled": True, "days": 14}
    return base


@pytest.fixture(scope="session")
def labelled(synthesize):
    return synthesize("labelled", labelled_config())


def widest_config() -> dict:
    """dev.json with as many extra numeric features as the config accepts, reserved
    concurrency on and a retained-name suffix: the largest stack a user can synthesize."""
    base = json.loads((REPO / "config/dev.json").read_text())
    base["functions"] = {
        "reserve_concurrency": True,
        "data_arrival_concurrency": 5,
        "account_concurrency_limit": 1000,
    }
    base["retained_name_suffix"] = "v2"
    accepted = None
    for count in range(1, 1000):
        candidate = copy.deepcopy(base)
        candidate["dataset"]["features"] += [
            {"name": f"extra_feature_{i:03d}", "type": "numeric"} for i in range(count)
        ]
        try:
            parse_config(candidate)
        except ConfigError:
            break
        accepted = candidate
    assert accepted is not None
    return accepted


@pytest.fixture(scope="session")
def widest(synthesize):
    return synthesize("widest", widest_config())
