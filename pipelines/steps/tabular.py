"""Reading data files into frames typed by the schema.

Files are read as text first so Validate can tell a non-number in a numeric column from a
missing value; `to_typed` then gives every step the same dtypes: numeric features as float,
categorical features as Python strings (object, NaN when missing), the target as a string label
for classification and a float for regression.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.schema import DatasetSchema

DATA_SUFFIXES = (".csv", ".csv.gz")


def find_data_files(root: Path) -> list[Path]:
    """Every CSV under root (a ProcessingInput of an S3 prefix keeps the key layout), sorted."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(DATA_SUFFIXES))


def read_raw(files: Sequence[Path]) -> pd.DataFrame:
    """All rows of all files as text; columns are the union of the headers."""
    frames = [pd.read_csv(f, dtype=str, skipinitialspace=True) for f in files]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True, sort=False)


def read_headers(files: Sequence[Path]) -> dict[Path, list[str]]:
    return {f: list(pd.read_csv(f, nrows=0).columns) for f in files}


def numeric_column(raw: pd.Series) -> pd.Series:
    return pd.to_numeric(raw, errors="coerce").astype(float)


def text_column(raw: pd.Series) -> pd.Series:
    # object dtype with NaN for missing: what sklearn's imputers and encoders expect on any
    # pandas version (pandas 3 would otherwise give its own string dtype).
    values = raw.astype(object)
    return values.where(raw.notna(), np.nan)


def to_typed(raw: pd.DataFrame, schema: DatasetSchema, with_target: bool = True) -> pd.DataFrame:
    columns = list(schema.columns if with_target else schema.feature_kinds)
    out = {}
    for feature in schema.features:
        col = raw[feature.name]
        out[feature.name] = numeric_column(col) if feature.type == "numeric" else text_column(col)
    if with_target:
        target = raw[schema.target]
        if schema.problem_type == "regression":
            out[schema.target] = numeric_column(target)
        else:
            out[schema.target] = text_column(target)
    return pd.DataFrame(out, columns=columns)


def read_typed(path: Path, schema: DatasetSchema) -> pd.DataFrame:
    """Read back a CSV one of our steps wrote (features and target, with a header)."""
    return to_typed(read_raw(find_data_files(path)), schema)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path
