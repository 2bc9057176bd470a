"""Build outputs the stack ships as CDK assets: the Lambda package and the pipeline code bundle.

Both are staged under `build/` with only what they need, so an asset's hash changes only when
its code does, and synth never walks the virtual environment.

The Lambda package carries its own dependencies (Powertools, the X-Ray SDK, pydantic) at exactly
the versions pyproject.toml pins, built for the Lambda runtime: the AWS-published Powertools
layer exists under a different account per partition, not in every region, with layer numbers
that differ between regions and do not say which release they hold. The first synth downloads
the wheels from the package index (`pip download`); later synths reuse `build/lambda-deps/`.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO_ROOT / "build"

_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")

# What the handlers import besides boto3, by their pyproject.toml names.
LAMBDA_DEPENDENCIES = ("aws-lambda-powertools", "pydantic")
# The target of infra.constructs.functions (python3.14, x86_64).
LAMBDA_PYTHON_VERSION = "3.14"
LAMBDA_PLATFORM = "manylinux2014_x86_64"
# The Python runtimes include the AWS SDK for Python and what it depends on
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html): a second copy in the package
# would only shadow the runtime's and add 20 MB to every cold start.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)
_TARGET_MARKERS = {
    "python_version": LAMBDA_PYTHON_VERSION,
    "python_full_version": f"{LAMBDA_PYTHON_VERSION}.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
}


class AssetError(RuntimeError):
    """An asset could not be built; the message says why and what to do."""


def pinned_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[Requirement]:
    """The pyproject.toml pins of LAMBDA_DEPENDENCIES, each `name[extras]==version`."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    pins = {}
    for line in project["dependencies"]:
        requirement = Requirement(line)
        pins[canonicalize_name(requirement.name)] = requirement
    found = []
    for name in LAMBDA_DEPENDENCIES:
        requirement = pins.get(canonicalize_name(name))
        if requirement is None or not re.fullmatch(r"==[^,*]+", str(requirement.specifier)):
            raise AssetError(f"pyproject.toml must pin {name} exactly (name==version)")
        found.append(requirement)
    return found


def lambda_wheels(roots: list[Requirement]) -> dict[str, str]:
    """Every distribution the roots need in Lambda, at the version installed here (which pip
    resolved from the same pins), less what the runtime provides: {name: version}."""
    wheels: dict[str, str] = {}
    pending = [(r, frozenset(r.extras)) for r in roots]
    while pending:
        requirement, extras = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in RUNTIME_PROVIDED or name in wheels:
            continue
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise AssetError(f"{name} is not installed: run `make install`") from None
        if requirement in roots and not requirement.specifier.contains(distribution.version):
            raise AssetError(
                f"pyproject.toml pins {requirement} but {name} {distribution.version} is "
                "installed: run `make install`"
            )
        wheels[name] = distribution.version
        for line in distribution.requires or []:
            dependency = Requirement(line)
            wanted = (
                not dependency.marker
                or any(dependency.marker.evaluate({**_TARGET_MARKERS, "extra": e}) for e in extras)
                or dependency.marker.evaluate({**_TARGET_MARKERS, "extra": ""})
            )
            if wanted:
                pending.append((dependency, frozenset(dependency.extras)))
    return dict(sorted(wheels.items()))


def lambda_dependencies(build_dir: Path = BUILD_DIR) -> Path:
    """The Lambda runtime's copy of the wheels, installed once per set of versions."""
    wheels = lambda_wheels(pinned_requirements())
    key = json.dumps([wheels, LAMBDA_PYTHON_VERSION, LAMBDA_PLATFORM], sort_keys=True)
    target = build_dir / "lambda-deps" / hashlib.sha256(key.encode()).hexdigest()[:16]
    if (target / ".complete").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    command = [
        *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
        *("--no-deps", "--no-compile", "--only-binary=:all:", "--implementation", "cp"),
        *("--python-version", LAMBDA_PYTHON_VERSION, "--platform", LAMBDA_PLATFORM),
        *("--target", str(target)),
        *(f"{name}=={version}" for name, version in wheels.items()),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise AssetError(
            "could not fetch the Lambda functions' dependencies for python"
            f"{LAMBDA_PYTHON_VERSION} ({', '.join(f'{n}=={v}' for n, v in wheels.items())}) "
            f"from the package index; check the network or pip's index settings:\n"
            f"{result.stderr.strip()}"
        )
    (target / ".complete").write_text(key, encoding="utf-8")
    return target


def stage_lambda_package(build_dir: Path = BUILD_DIR) -> Path:
    """A folder whose root holds the `functions/` package, as every handler string expects,
    beside the dependencies the handlers import."""
    dependencies = lambda_dependencies(build_dir)
    target = build_dir / "lambda"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(dependencies, target, ignore=shutil.ignore_patterns(".complete", "bin"))
    shutil.copytree(REPO_ROOT / "functions", target / "functions", ignore=_SKIP)
    return target
