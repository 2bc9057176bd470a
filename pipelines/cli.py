"""`python -m pipelines.training|monitoring`: print a definition for a project config."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "dev.json"


def print_definition(
    build: Callable[[Mapping[str, Any]], str], argv: list[str] | None = None
) -> None:
    parser = argparse.ArgumentParser(description="Print the pipeline definition JSON.")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--pretty", action="store_true", help="indented, for reading")
    args = parser.parse_args(argv)
    # Plain JSON on purpose: the infra package (and CDK) is not needed to see a definition.
    definition = build(json.loads(args.config.read_text(encoding="utf-8")))
    print(
        json.dumps(json.loads(definition), indent=2, sort_keys=True) if args.pretty else definition
    )
