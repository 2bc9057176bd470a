"""`python -m pipelines.training|monitoring`: print a definition for a project config.

The config is read and checked as `cdk synth` reads it (infra/config.py, no CDK needed), and
mapped onto the pipeline settings by the same functions (infra/contracts.py), so the printed
definition is the one the stack deploys.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from infra.config import ConfigError, StackConfig, load_config

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "dev.json"


def print_definition(build: Callable[[StackConfig], str], argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print the pipeline definition JSON.")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--pretty", action="store_true", help="indented, for reading")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        sys.exit(f"error: {error}")
    definition = build(config)
    print(
        json.dumps(json.loads(definition), indent=2, sort_keys=True) if args.pretty else definition
    )
