"""Settings every test needs before any library is imported, and the fixtures shared by the
infra, emulator and end-to-end tests: each stage is synthesized once per test session."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")

EVENTS_DIR = Path(__file__).resolve().parent / "events"


@dataclass(frozen=True)
class Synthesized:
    config: Any  # infra.config.StackConfig
    template: Any  # aws_cdk.assertions.Template
    raw: dict[str, Any]
    outdir: Path
    name: str

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.raw["Resources"].items() if v["Type"] == kind}

    def resolved(self, value: Any) -> Any:
        """Intrinsics resolved as CloudFormation would in the sample events' account."""
        from emulator.intrinsics import Resolver

        return Resolver(self.raw, account="123456789012", region="us-east-1").resolve(value)


@pytest.fixture()
def moto_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials for moto's in-process mock, and no endpoint override: a test's boto3
    clients then reach `mock_aws()`, never a real account or a local runtime."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture(scope="session")
def synthesize(tmp_path_factory: pytest.TempPathFactory):
    """`synthesize("dev")`: the stage's cloud assembly, built at most once per session.
    `synthesize("name", raw)` builds the config dict `raw` instead (once per name)."""
    from aws_cdk import App
    from aws_cdk.assertions import Template

    from infra.app import build_stack, config_path
    from infra.config import load_config, parse_config

    built: dict[str, Synthesized] = {}

    def synth(stage: str, raw_config: dict[str, Any] | None = None) -> Synthesized:
        if stage not in built:
            outdir = tmp_path_factory.mktemp(f"cdk-{stage}")
            config = (
                load_config(config_path(f"config/{stage}.json"))
                if raw_config is None
                else parse_config(raw_config, source=stage)
            )
            app = App(outdir=str(outdir))
            stack = build_stack(app, config, {})
            app.synth()
            raw = json.loads((outdir / f"{stack.artifact_id}.template.json").read_text())
            built[stage] = Synthesized(
                config, Template.from_json(raw), raw, outdir, stack.artifact_id
            )
        return built[stage]

    return synth


@pytest.fixture(scope="session")
def load_event():
    """Sample AWS events (tests/events/), shapes from the AWS documentation."""

    def load(name: str) -> dict[str, Any]:
        return json.loads((EVENTS_DIR / name).read_text())

    return load
