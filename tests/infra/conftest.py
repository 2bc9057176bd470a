"""Synthesize each stage once per test session; every infra test reads those templates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from emulator.intrinsics import Resolver
from infra.app import build_stack, config_path
from infra.config import StackConfig, load_config

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


@dataclass(frozen=True)
class Synthesized:
    config: StackConfig
    template: Template
    raw: dict[str, Any]
    outdir: Path

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.raw["Resources"].items() if v["Type"] == kind}

    def resolved(self, value: Any) -> Any:
        """Intrinsics resolved as CloudFormation would in the sample events' account."""
        return Resolver(self.raw, account="123456789012", region="us-east-1").resolve(value)


def _synthesize(stage: str, outdir: Path) -> Synthesized:
    config = load_config(config_path(f"config/{stage}.json"))
    app = App(outdir=str(outdir))
    stack = build_stack(app, config, {})
    app.synth()
    raw = json.loads((outdir / f"{stack.artifact_id}.template.json").read_text())
    return Synthesized(config=config, template=Template.from_json(raw), raw=raw, outdir=outdir)


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _synthesize("dev", tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _synthesize("prod", tmp_path_factory.mktemp("cdk-prod"))


@pytest.fixture(scope="session")
def load_event():
    """Sample AWS events (tests/events/), shapes from the AWS documentation."""

    def load(name: str) -> dict[str, Any]:
        return json.loads((EVENTS_DIR / name).read_text())

    return load
