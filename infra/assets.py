"""Build outputs the stack ships as CDK assets: the Lambda package and the pipeline code bundle.

Both are staged under `build/` with only what they need, so an asset's hash changes only when
its code does, and synth never walks the virtual environment.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO_ROOT / "build"

_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


def stage_lambda_package(build_dir: Path = BUILD_DIR) -> Path:
    """A folder whose root holds the `functions/` package, as every handler string expects."""
    target = build_dir / "lambda"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(REPO_ROOT / "functions", target / "functions", ignore=_SKIP)
    return target
