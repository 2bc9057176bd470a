"""Data files to frames typed by the schema, the same way in every step.

Every step reads through `pipelines.steps.reader` (CSV, gzip CSV, Parquet) and types the columns
with `type_batch`: numeric features as float, categorical features as Python strings (object,
NaN when missing), the target as a string label for classification and a float for regression.
Text that is not a number in a numeric column becomes NaN here and is reported by Validate,
which sees `TypedBatch.not_numeric`; the later steps read only what Validate accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines.limits import ReadLimits
from pipelines.schema import DatasetSchema
from pipelines.steps.reader import open_batches

DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet")


def find_data_files(root: Path) -> list[Path]:
    """Every data file under root (a ProcessingInput of an S3 prefix keeps the key layout),
    sorted; the extension in any case (`UPPER.CSV` is a CSV)."""
    if root.is_file():
        return [root]
    return sorted(
        p for p in root.rglob("*") if p.is_file() and p.name.lower().endswith(DATA_SUFFIXES)
    )


def typed_schema(schema: DatasetSchema, with_target: bool = True) -> pa.Schema:
    fields = [
        pa.field(f.name, pa.float64() if f.type == "numeric" else pa.string())
        for f in schema.features
    ]
    if with_target:
        regression = schema.problem_type == "regression"
        fields.append(pa.field(schema.target, pa.float64() if regression else pa.string()))
    return pa.schema(fields)


@dataclass
class TypedBatch:
    """One batch with the schema's types, and the text that was no number where one was due."""

    arrow: pa.RecordBatch
    # Column -> the values present in the file that could not be read as numbers.
    not_numeric: dict[str, list[str]]

    def frame(self) -> pd.DataFrame:
        return to_frame(self.arrow)


def type_batch(
    batch: pa.RecordBatch, schema: DatasetSchema, with_target: bool = True
) -> TypedBatch:
    """Type the schema's columns of a batch (text from CSV, or Parquet's own types)."""
    target = typed_schema(schema, with_target)
    columns, not_numeric = [], {}
    for field in target:
        col = batch.column(field.name)
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        text = pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
        if field.type == pa.float64():
            typed, bad = _numeric(col, text)
            if bad:
                not_numeric[field.name] = bad
        elif text:
            # Leading blanks are not part of a value (what CSV writers put after a comma).
            typed = pc.utf8_ltrim_whitespace(col).cast(pa.string())
        else:
            typed = pc.cast(col, pa.string())
        columns.append(typed)
    return TypedBatch(pa.RecordBatch.from_arrays(columns, schema=target), not_numeric)


def _numeric(col: pa.Array, text: bool) -> tuple[pa.Array, list[str]]:
    if not text:
        return pc.cast(col, pa.float64()), []
    trimmed = pc.utf8_trim_whitespace(col)
    try:
        return pc.cast(trimmed, pa.float64()), []
    except pa.ArrowInvalid:
        # Arrow refuses the whole column at its first non-number; pandas finds them all.
        raw = pd.Series(trimmed.to_numpy(zero_copy_only=False), dtype=object)
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = raw[raw.notna() & values.isna()]
        return pa.array(values.to_numpy(), type=pa.float64(), from_pandas=True), bad.tolist()


def to_frame(data: pa.RecordBatch | pa.Table) -> pd.DataFrame:
    """Typed Arrow data to pandas: floats, and text as object with NaN for missing, which is
    what sklearn's imputers and encoders expect on any pandas version (pandas 3 would
    otherwise give its own string dtype)."""
    out = {}
    for name, col in zip(data.schema.names, data.columns, strict=True):
        if pa.types.is_floating(col.type):
            out[name] = np.asarray(col.to_numpy(zero_copy_only=False), dtype=float)
        else:
            values = np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)
            values[pd.isna(values)] = np.nan
            out[name] = values
    return pd.DataFrame(out, columns=data.schema.names)


def typed_chunks(
    root: Path,
    schema: DatasetSchema,
    with_target: bool = True,
    limits: ReadLimits | None = None,
) -> Iterator[pd.DataFrame]:
    """The typed rows of every data file under root, one batch at a time."""
    limits = limits or ReadLimits()
    columns = list(schema.columns if with_target else schema.feature_kinds)
    for path in find_data_files(root):
        with open_batches(path, limits, columns) as opened:
            for batch in opened.batches:
                yield type_batch(batch, schema, with_target).frame()


def read_typed(path: Path, schema: DatasetSchema) -> pd.DataFrame:
    """Read back what one of our steps wrote (features and target, with a header)."""
    chunks = list(typed_chunks(path, schema))
    if not chunks:
        return to_frame(typed_schema(schema).empty_table())
    return pd.concat(chunks, ignore_index=True)


def to_typed(raw: pd.DataFrame, schema: DatasetSchema, with_target: bool = True) -> pd.DataFrame:
    """A frame of text values (as in a CSV) typed like the files are."""
    columns = list(schema.columns if with_target else schema.feature_kinds)
    batch = text_batch(raw[columns])
    return type_batch(batch, schema, with_target).frame()


def text_batch(raw: pd.DataFrame) -> pa.RecordBatch:
    arrays = [
        pa.array([None if pd.isna(v) else str(v) for v in raw[c].tolist()], type=pa.string())
        for c in raw.columns
    ]
    return pa.RecordBatch.from_arrays(arrays, names=[str(c) for c in raw.columns])


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """A typed frame as CSV, written by Arrow (several times faster than pandas' writer); a
    missing value is an empty field, as pandas writes it and as the reader reads it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path
