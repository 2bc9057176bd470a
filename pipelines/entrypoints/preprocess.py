"""Preprocess: split the validated rows into train / validation / test, reproducibly by seed,
one batch at a time (the job's memory does not grow with the rows).

    python -m pipelines.entrypoints.preprocess --schema <parts> [--seed N]
        [--validation-fraction F] [--test-fraction F] [--input DIR] [--output DIR]

Reads the data files under --input twice: the target column to count the rows per class, then
every column in batches, each batch's rows appended to its split. Writes `train/train.parquet`,
`validation/validation.parquet`, `test/test.parquet` under --output (each folder one
ProcessingOutput; Train, Evaluate and Baseline read whatever data file their folder holds), and
`train/schema.json` so the training job, whose hyperparameters are too small for a schema,
reads it from its train channel.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.entrypoints.common import add_schema_argument, log, unpack_schema
from pipelines.limits import ReadLimits
from pipelines.schema import DatasetSchema
from pipelines.steps.preprocess import SPLITS, count_strata, plan_split, split_batches, strata
from pipelines.steps.reader import open_batches
from pipelines.steps.tabular import find_data_files, type_batch, typed_schema

SCHEMA_FILE = "schema.json"


def typed_batches(
    root: Path, schema: DatasetSchema, limits: ReadLimits, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """The typed rows under root (all of the schema's columns, or just `columns`), in batches
    of at most `limits.parquet_batch_rows` rows for Parquet."""
    wanted = list(schema.columns) if columns is None else columns
    for path in find_data_files(root):
        with open_batches(path, limits, wanted) as opened:
            for batch in opened.batches:
                typed = type_batch(batch, schema).arrow if columns is None else batch
                yield typed


def write_splits(
    root: Path,
    out: Path,
    schema: DatasetSchema,
    *,
    seed: int,
    validation_fraction: float,
    test_fraction: float,
    limits: ReadLimits | None = None,
) -> dict[str, int]:
    """Split the files under root into out/<split>/<split>.parquet; the rows of each split."""
    limits = limits or ReadLimits()
    targets = typed_batches(root, schema, limits, [schema.target])
    plan = plan_split(
        count_strata(strata(_typed_target(b, schema), schema) for b in targets),
        validation_fraction=validation_fraction,
        test_fraction=test_fraction,
    )
    arrow_schema = typed_schema(schema)
    rows = dict.fromkeys(SPLITS, 0)
    writers = {}
    try:
        for name in SPLITS:
            (out / name).mkdir(parents=True, exist_ok=True)
            writers[name] = pq.ParquetWriter(out / name / f"{name}.parquet", arrow_schema)
        batches = typed_batches(root, schema, limits)
        for name, part in split_batches(batches, plan, schema, seed=seed):
            writers[name].write_batch(part)
            rows[name] += len(part)
    finally:
        for writer in writers.values():
            writer.close()
    return rows


def _typed_target(batch: pa.RecordBatch, schema: DatasetSchema) -> pa.RecordBatch:
    """The class labels as the full read types them (type_batch), so both passes agree."""
    if schema.problem_type != "classification":
        return batch  # one stratum: the values do not matter
    column = batch.column(schema.target)
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = pc.utf8_ltrim_whitespace(column)
    return pa.RecordBatch.from_arrays([pc.cast(column, pa.string())], names=[schema.target])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_schema_argument(parser)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--input", type=Path, default=Path("/opt/ml/processing/input/validated"))
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing/output"))
    args = parser.parse_args(argv)

    schema = unpack_schema(args.schema)
    rows = write_splits(
        args.input,
        args.output,
        schema,
        seed=args.seed,
        validation_fraction=args.validation_fraction,
        test_fraction=args.test_fraction,
    )
    (args.output / "train" / SCHEMA_FILE).write_text(schema.to_json(), encoding="utf-8")
    log(
        f"split {sum(rows.values())} rows: train {rows['train']}, validation "
        f"{rows['validation']}, test {rows['test']}"
    )


if __name__ == "__main__":
    main()
