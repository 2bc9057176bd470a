"""Preprocess: split the validated rows into train / validation / test, reproducibly by seed.

    python -m pipelines.entrypoints.preprocess --schema <parts> [--seed N]
        [--validation-fraction F] [--test-fraction F] [--input DIR] [--output DIR]

Writes `train/train.csv`, `validation/validation.csv`, `test/test.csv` under --output (each
folder one ProcessingOutput), and `train/schema.json` so the training job, whose hyperparameters
are too small for a schema, reads it from its train channel.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.entrypoints.common import add_schema_argument, log, unpack_schema
from pipelines.steps.preprocess import split_frame
from pipelines.steps.tabular import read_typed, write_csv

SCHEMA_FILE = "schema.json"


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
    frame = read_typed(args.input, schema)
    splits = split_frame(
        frame,
        schema,
        seed=args.seed,
        validation_fraction=args.validation_fraction,
        test_fraction=args.test_fraction,
    )
    for name, part in (
        ("train", splits.train),
        ("validation", splits.validation),
        ("test", splits.test),
    ):
        write_csv(part, args.output / name / f"{name}.csv")
    (args.output / "train" / SCHEMA_FILE).write_text(schema.to_json(), encoding="utf-8")
    log(
        f"split {len(frame)} rows: train {len(splits.train)}, validation "
        f"{len(splits.validation)}, test {len(splits.test)}"
    )


if __name__ == "__main__":
    main()
