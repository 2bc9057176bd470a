"""The dataset schema: one definition shared by the CDK config, the pipeline steps and the Lambdas.

It lives in `pipelines/` because the pipeline steps need it inside the training container, where
neither `infra/` nor `functions/` is shipped. It depends on pydantic only.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

FeatureKind = Literal["numeric", "categorical"]
ProblemType = Literal["classification", "regression"]

# Column names are taken as the data has them (`mean radius`, `revenue/visit`, `âge`): any
# printable text. Names that reach AWS are derived from them (pipelines/metric_names.py).
MAX_NAME_LENGTH = 255


def column_name_problem(name: str) -> str | None:
    """Why `name` cannot name a column, or None. Only what no file could match is refused."""
    if not name:
        return "a column name cannot be empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"{name[:40]!r}... is {len(name)} characters; at most {MAX_NAME_LENGTH}"
    if name != name.strip():
        return (
            f"{name!r} starts or ends with whitespace, which CSV readers and people lose; "
            f"write {name.strip()!r}"
        )
    unprintable = sorted({c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")})
    if unprintable:
        codes = ", ".join(f"U+{ord(c):04X}" for c in unprintable)
        return f"{name!r} holds control or invisible characters ({codes})"
    if unicodedata.normalize("NFC", name) != name:
        return (
            f"{name!r} is not in Unicode NFC form (letters and accents stored apart); "
            "write it composed, as most editors do"
        )
    return None


def _column_name(name: str) -> str:
    problem = column_name_problem(name)
    if problem:
        raise ValueError(problem)
    return name


ColumnName = Annotated[str, AfterValidator(_column_name)]


class Feature(BaseModel):
    """One input column. Bounds and categories are optional quality gates for Validate."""

    # NaN and infinity read from JSON would make every bound check pass or fail silently.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: ColumnName
    type: FeatureKind
    min: float | None = None
    max: float | None = None
    # An empty list would reject every row.
    categories: tuple[str, ...] | None = Field(default=None, min_length=1)
    max_null_ratio: float = Field(default=0.0, ge=0.0, le=1.0)
    # Per-feature override of the drift decision threshold (distance, not p-value).
    drift_threshold: float | None = Field(default=None, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _check_kind_specific(self) -> Feature:
        problems = []
        if self.type == "categorical" and (self.min is not None or self.max is not None):
            problems.append(
                f"min: min and max apply to numeric features; {self.name!r} is categorical"
            )
        if self.type == "numeric" and self.categories is not None:
            problems.append(
                f"categories: apply to categorical features, and {self.name!r} is numeric"
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            problems.append(f"min: {self.min} is above max {self.max} for {self.name!r}")
        if self.categories is not None:
            problems += _repeated("categories", self.categories)
        _raise_all(problems)
        return self


class DatasetSchema(BaseModel):
    """What a valid CSV looks like: a header row with the features and the target, in any order."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    target: ColumnName
    problem_type: ProblemType
    features: tuple[Feature, ...] = Field(min_length=1)
    # Class labels for classification; Validate rejects a target value outside them. One class
    # leaves nothing to learn.
    classes: tuple[str, ...] | None = Field(default=None, min_length=2)
    min_rows: int = Field(default=100, ge=1)
    max_duplicate_ratio: float = Field(default=0.05, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _check_columns(self) -> DatasetSchema:
        _raise_all(
            dataset_problems(
                [f.name for f in self.features], self.target, self.problem_type, self.classes
            )
        )
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column a data file must carry: the features, then the target."""
        return (*(f.name for f in self.features), self.target)

    @property
    def feature_kinds(self) -> dict[str, FeatureKind]:
        return {f.name: f.type for f in self.features}

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", exclude_none=True), sort_keys=True)


def dataset_problems(
    names: list[str], target: object, problem_type: object, classes: object
) -> list[str]:
    """The checks across a dataset's keys, every problem at once as "<key>: <message>" lines.
    Plain values, so that a dataset whose fields do not all validate is still checked."""
    problems = _repeated("features", names, what="feature names")
    if target in names:
        problems.append(
            f"target: {target!r} is also listed as a feature (features.{names.index(target)}.name)"
        )
    if problem_type == "regression" and classes is not None:
        problems.append(
            f"classes: apply to classification only, and problem_type is regression "
            f"(got {list(classes) if isinstance(classes, list | tuple) else classes!r})"
        )
    if isinstance(classes, list | tuple) and all(isinstance(c, str) for c in classes):
        problems += _repeated("classes", list(classes))
    return problems


def _repeated(key: str, values: tuple[str, ...] | list[str], what: str = "") -> list[str]:
    repeated = sorted({v for v in values if list(values).count(v) > 1})
    if not repeated:
        return []
    return [f"{key}: {what or key} must be unique, repeated: {repeated}"]


def _raise_all(problems: list[str]) -> None:
    """One error for several problems; `infra.config` gives each line its full key."""
    if problems:
        raise ValueError("\n".join(problems))
