"""The drift reference profile of the training data, stored next to the model."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from pipelines.drift import ReferenceProfile, build_profile
from pipelines.schema import DatasetSchema


def baseline_profile(chunks: Iterable[pd.DataFrame], schema: DatasetSchema) -> ReferenceProfile:
    """One streaming pass: memory stays flat however large the training split is."""
    features = [f.name for f in schema.features]
    return build_profile((chunk[features] for chunk in chunks), schema.feature_kinds)
