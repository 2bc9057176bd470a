"""The Lambda package's dependencies are exactly the pyproject.toml pins, for the runtime."""

from __future__ import annotations

import pytest

from infra.assets import AssetError, lambda_wheels, pinned_requirements


def _pyproject(tmp_path, *dependencies: str):
    path = tmp_path / "pyproject.toml"
    lines = ", ".join(f'"{d}"' for d in dependencies)
    path.write_text(f'[project]\nname = "x"\ndependencies = [{lines}]\n')
    return path


def test_the_package_takes_the_pinned_versions_and_leaves_the_sdk_to_the_runtime():
    wheels = lambda_wheels(pinned_requirements())
    assert wheels["aws-lambda-powertools"] == "3.37.0" and wheels["pydantic"] == "2.14.3"
    # The tracer extra brings the X-Ray SDK; the parser extra and pydantic bring its core.
    assert {"aws-xray-sdk", "wrapt", "pydantic-core"} <= wheels.keys()
    assert not {"boto3", "botocore", "s3transfer", "urllib3"} & wheels.keys()


def test_a_pin_that_differs_from_what_is_installed_stops_the_build(tmp_path):
    pins = pinned_requirements(
        _pyproject(tmp_path, "aws-lambda-powertools[tracer,parser]==3.0.0", "pydantic==2.14.3")
    )
    with pytest.raises(AssetError, match=r"pins aws-lambda-powertools.*==3.0.0.*3\.37\.0"):
        lambda_wheels(pins)


def test_a_dependency_that_is_not_pinned_exactly_stops_the_build(tmp_path):
    with pytest.raises(AssetError, match="must pin pydantic exactly"):
        pinned_requirements(
            _pyproject(tmp_path, "aws-lambda-powertools[tracer,parser]==3.37.0", "pydantic>=2")
        )
