"""The dataset schema: one definition shared by the CDK config, the pipeline steps and the Lambdas.

It lives in `pipelines/` because the pipeline steps need it inside the training container, where
neither `infra/` nor `functions/` is shipped. It depends on pydantic only.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FeatureKind = Literal["numeric", "categorical"]
ProblemType = Literal["classification", "regression"]

_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,62}$"


class Feature(BaseModel):
    """One input column. Bounds and categories are optional quality gates for Validate."""

    # NaN and infinity read from JSON would make every bound check pass or fail silently.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(pattern=_NAME_PATTERN)
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
        if self.type == "categorical" and (self.min is not None or self.max is not None):
            raise ValueError(f"feature {self.name!r}: min/max apply to numeric features")
        if self.type == "numeric" and self.categories is not None:
            raise ValueError(f"feature {self.name!r}: categories apply to categorical features")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"feature {self.name!r}: min {self.min} is above max {self.max}")
        if self.categories is not None:
            _unique("categories", self.categories)
        return self


class DatasetSchema(BaseModel):
    """What a valid CSV looks like: a header row with the features and the target, in any order."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    target: str = Field(pattern=_NAME_PATTERN)
    problem_type: ProblemType
    features: tuple[Feature, ...] = Field(min_length=1)
    # Class labels for classification; Validate rejects a target value outside them. One class
    # leaves nothing to learn.
    classes: tuple[str, ...] | None = Field(default=None, min_length=2)
    min_rows: int = Field(default=100, ge=1)
    max_duplicate_ratio: float = Field(default=0.05, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _check_columns(self) -> DatasetSchema:
        names = [f.name for f in self.features]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"feature names must be unique, repeated: {duplicated}")
        if self.target in names:
            raise ValueError(f"target {self.target!r} is also listed as a feature")
        if self.problem_type == "regression" and self.classes is not None:
            raise ValueError("classes apply to classification only")
        if self.classes is not None:
            _unique("classes", self.classes)
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


def _unique(what: str, values: tuple[str, ...]) -> None:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"{what}: must be unique, repeated: {repeated}")
