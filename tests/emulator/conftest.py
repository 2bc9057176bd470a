"""Synthesize the dev stack once per session; emulator tests deploy that very template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from infra.app import build_stack, config_path
from infra.config import load_config

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


@pytest.fixture(scope="session")
def dev_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    outdir = tmp_path_factory.mktemp("emulator-cdk-dev")
    app = App(outdir=str(outdir))
    stack = build_stack(app, load_config(config_path("config/dev.json")), {})
    app.synth()
    return json.loads((outdir / f"{stack.artifact_id}.template.json").read_text())


@pytest.fixture(scope="session")
def load_event():
    def load(name: str) -> dict[str, Any]:
        return json.loads((EVENTS_DIR / name).read_text())

    return load
