"""The `model` section of the config: a built-in algorithm with its hyperparameters, or the
user's own training module (`entry_point`). One definition for the config check at synth, the
pipeline definition and the training container.

What ships with a user's module: the entry point's folder (its `.py` files, subfolders
included) is vendored into the code bundle as the package `user_model`, and from there into the
model archive, so Train, Evaluate and the endpoint import the same code. The endpoint runs
network-isolated (the model role), so nothing can be installed when it starts:
`requirements` may only name libraries the scikit-learn image already has (IMAGE_LIBRARIES), at
versions that admit the ones installed here (what the local runtime runs as the image); anything
else must be pure Python vendored into the folder and imported relatively.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

Algorithm = Literal["hist_gradient_boosting", "random_forest", "linear"]
VENDOR_PACKAGE = "user_model"
# What the SageMaker scikit-learn image installs besides its serving stack
# (https://github.com/aws/sagemaker-scikit-learn-container, requirements.txt); the local
# runtime's step processes stand for it with the same libraries (emulator/job_processes.py).
IMAGE_LIBRARIES = frozenset({"scikit-learn", "numpy", "pandas", "scipy", "joblib", "threadpoolctl"})
# A vendored folder is source code, not a data set: bounded so a misplaced entry point (say,
# a folder holding the repository) fails the synth instead of shipping it.
MAX_VENDORED_FILES = 200
MAX_VENDORED_BYTES = 5 * 1024 * 1024
# SageMaker's limit for one training hyperparameter value (API_CreateTrainingJob,
# HyperParameters: values up to 2500 characters); the params travel as one packed value.
MAX_PACKED_PARAMS = 2500
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEY = re.compile(r"^[a-z_][a-z0-9_]*$")


class _Params(BaseModel):
    # JSON types as written: "200" is not an integer, true is not a number.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class HistGradientBoostingParams(_Params):
    """scikit-learn's HistGradientBoosting{Classifier,Regressor}."""

    max_iter: int = Field(default=200, ge=1, le=10_000)
    learning_rate: float = Field(default=0.1, gt=0.0, le=1.0)
    max_depth: int | None = Field(default=None, ge=1)
    max_leaf_nodes: int | None = Field(default=31, ge=2)
    min_samples_leaf: int = Field(default=20, ge=1)
    l2_regularization: float = Field(default=0.0, ge=0.0)


class RandomForestParams(_Params):
    """scikit-learn's RandomForest{Classifier,Regressor}."""

    n_estimators: int = Field(default=200, ge=1, le=5_000)
    max_depth: int | None = Field(default=None, ge=1)
    min_samples_leaf: int = Field(default=1, ge=1)


class LinearParams(_Params):
    """LogisticRegression (classification) or Ridge (regression) on standardized features:
    `l2` is Ridge's alpha and the inverse of LogisticRegression's C."""

    l2: float = Field(default=1.0, gt=0.0)
    max_iter: int = Field(default=1000, ge=1)


BUILTIN_PARAMS: dict[str, type[_Params]] = {
    "hist_gradient_boosting": HistGradientBoostingParams,
    "random_forest": RandomForestParams,
    "linear": LinearParams,
}
ALGORITHMS: tuple[str, ...] = tuple(BUILTIN_PARAMS)


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    algorithm: Algorithm = "hist_gradient_boosting"
    # Built-ins: checked against the algorithm's parameters. Entry point: passed as `params`.
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    # A .py file relative to the repository root, e.g. "models/churn/model.py".
    entry_point: str | None = None
    # Libraries the entry point imports beyond the standard library (see IMAGE_LIBRARIES).
    requirements: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> ModelSpec:
        problems = []
        if self.entry_point is None:
            if self.requirements:
                problems.append("requirements: apply to an entry_point, not a built-in algorithm")
            problems += _builtin_problems(self.algorithm, self.hyperparameters)
        else:
            if "algorithm" in self.model_fields_set:
                problems.append(
                    f"algorithm: {self.algorithm!r} and entry_point {self.entry_point!r} are "
                    "both set; choose one"
                )
            path_problems = _entry_point_problems(self.entry_point)
            root = (info.context or {}).get("project_root")
            if root is not None and not path_problems:
                path_problems = _vendored_problems(Path(root), self.entry_point)
            problems += path_problems
            problems += _requirement_problems(self.requirements)
        packed = len(pack_params(self.hyperparameters))
        if packed > MAX_PACKED_PARAMS:
            problems.append(
                f"hyperparameters: {packed} characters packed, more than the "
                f"{MAX_PACKED_PARAMS} SageMaker takes for a hyperparameter value"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def module_name(self) -> str | None:
        """The entry point's import name in the bundle and the model archive."""
        if self.entry_point is None:
            return None
        return f"{VENDOR_PACKAGE}.{Path(self.entry_point).stem}"

    def builtin_params(self) -> dict[str, Any]:
        """The built-in algorithm's hyperparameters with their defaults filled in."""
        return BUILTIN_PARAMS[self.algorithm].model_validate(self.hyperparameters).model_dump()


def _builtin_problems(algorithm: str, hyperparameters: dict[str, Any]) -> list[str]:
    params = BUILTIN_PARAMS[algorithm]
    try:
        params.model_validate(hyperparameters)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = str(item["loc"][0]) if item["loc"] else ""
            value = hyperparameters.get(name)
            if item["type"] == "extra_forbidden":
                message = (
                    f"{name!r} is not a hyperparameter of {algorithm} (got {value!r}); "
                    f"known: {sorted(params.model_fields)}"
                )
            else:
                message = f"{item['msg']} (got {value!r})"
            key = f"hyperparameters.{name}" if _KEY.match(name) else "hyperparameters"
            problems.append(f"{key}: {message}")
        return problems
    return []


def _entry_point_problems(entry_point: str) -> list[str]:
    path = Path(entry_point)
    rule = (
        "a .py file relative to the repository root, in a folder of its own, "
        "e.g. 'models/my_model.py'"
    )
    if "\\" in entry_point or path.is_absolute() or ".." in path.parts:
        return [f"entry_point: {entry_point!r} must be {rule}"]
    if path.suffix != ".py" or len(path.parts) < 2:
        return [f"entry_point: {entry_point!r} must be {rule}"]
    if not _IDENTIFIER.match(path.stem):
        return [f"entry_point: {path.stem!r} is not a Python module name (in {entry_point!r})"]
    return []


def _vendored_problems(root: Path, entry_point: str) -> list[str]:
    source = root / entry_point
    if not source.is_file():
        return [f"entry_point: {entry_point!r} is not a file under {root}"]
    files = vendored_files(source.parent)
    size = sum(path.stat().st_size for _, path in files)
    if len(files) > MAX_VENDORED_FILES or size > MAX_VENDORED_BYTES:
        return [
            f"entry_point: its folder {source.parent.relative_to(root).as_posix()!r} holds "
            f"{len(files)} Python files ({size} bytes); at most {MAX_VENDORED_FILES} files and "
            f"{MAX_VENDORED_BYTES} bytes are vendored: give the model a folder of its own"
        ]
    return [
        f"entry_point: {rel!r} in its folder is not importable (a folder name must be a "
        "Python identifier)"
        for rel, _ in files
        if not all(_IDENTIFIER.match(p) for p in Path(rel).with_suffix("").parts)
    ]


def _requirement_problems(requirements: tuple[str, ...]) -> list[str]:
    if not requirements:  # as in the training container, which need not have packaging
        return []
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    problems = []
    for i, text in enumerate(requirements):
        try:
            requirement = Requirement(text)
        except InvalidRequirement as error:
            problems.append(f"requirements.{i}: {text!r} is not a requirement ({error})")
            continue
        name = canonicalize_name(requirement.name)
        if name in IMAGE_LIBRARIES:
            # The versions installed here are the ones the local runtime runs as the image's.
            installed = _installed_version(name)
            if installed and not requirement.specifier.contains(installed, prereleases=True):
                problems.append(
                    f"requirements.{i}: {text!r} excludes {name} {installed}, the version the "
                    "image holds (and the local runtime runs)"
                )
        else:
            problems.append(
                f"requirements.{i}: {text!r} is not in the scikit-learn image "
                f"({sorted(IMAGE_LIBRARIES)}); the model runs network-isolated, so nothing "
                "can be installed when it starts: vendor pure-Python code into the entry "
                "point's folder instead"
            )
    return problems


def _installed_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def vendored_files(folder: Path) -> list[tuple[str, Path]]:
    """(path relative to `folder`, source) of every Python file the model ships, sorted."""
    return sorted(
        (path.relative_to(folder).as_posix(), path)
        for path in folder.rglob("*.py")
        if not any(p == "__pycache__" or p.startswith(".") for p in path.relative_to(folder).parts)
    )


def pack_params(params: dict[str, Any]) -> str:
    """The params as one hyperparameter value. The training toolkit turns JSON values it can
    parse into Python objects and back into text its own way (None becomes "None", a dict
    "a=1,b=2"), so they travel as packed JSON, which it leaves alone."""
    from pipelines.entrypoints.common import pack_json

    return "".join(pack_json(params))


def unpack_params(text: str) -> dict[str, Any]:
    from pipelines.entrypoints.common import unpack_json

    value = unpack_json([text]) if text else {}
    if not isinstance(value, dict):
        raise ValueError(f"model params must be a JSON object, got {type(value).__name__}")
    return value
