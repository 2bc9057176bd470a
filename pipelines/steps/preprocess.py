"""Train / validation / test split, the same for the same data and seed."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.model_selection import train_test_split

from pipelines.schema import DatasetSchema


@dataclass
class Splits:
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


def split_frame(
    frame: pd.DataFrame,
    schema: DatasetSchema,
    *,
    seed: int,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> Splits:
    """Stratified by class for classification when every class can appear in every part."""
    if not 0 < validation_fraction < 1 or not 0 < test_fraction < 1:
        raise ValueError("validation and test fractions must be between 0 and 1")
    if validation_fraction + test_fraction >= 1:
        raise ValueError("validation and test fractions leave no training rows")
    held_out = validation_fraction + test_fraction
    rest, held = train_test_split(
        frame, test_size=held_out, random_state=seed, stratify=_strata(frame, schema, 4)
    )
    validation, test = train_test_split(
        held,
        test_size=test_fraction / held_out,
        random_state=seed,
        stratify=_strata(held, schema, 2),
    )
    return Splits(
        rest.reset_index(drop=True), validation.reset_index(drop=True), test.reset_index(drop=True)
    )


def _strata(frame: pd.DataFrame, schema: DatasetSchema, min_per_class: int) -> pd.Series | None:
    if schema.problem_type != "classification":
        return None
    counts = frame[schema.target].value_counts()
    # A class too rare to land in both halves makes sklearn refuse to stratify.
    return frame[schema.target] if len(counts) > 1 and counts.min() >= min_per_class else None
