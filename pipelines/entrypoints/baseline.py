"""Baseline: the drift engine's reference profile of the training split.

    python -m pipelines.entrypoints.baseline --schema <parts> [--train DIR] [--output DIR]

Writes `--output/baseline.json` (ReferenceProfile.to_json), which the pipeline stores next to
the model and records in the model package's lineage; the monitoring step compares against it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.entrypoints.common import add_schema_argument, log, unpack_schema
from pipelines.steps.baseline import baseline_profile
from pipelines.steps.tabular import typed_chunks

BASELINE_FILE = "baseline.json"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_schema_argument(parser)
    parser.add_argument("--train", type=Path, default=Path("/opt/ml/processing/input/train"))
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing/output/baseline"))
    args = parser.parse_args(argv)

    schema = unpack_schema(args.schema)
    profile = baseline_profile(typed_chunks(args.train, schema, with_target=False), schema)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / BASELINE_FILE).write_text(profile.to_json(), encoding="utf-8")
    log(f"baseline of {profile.n_rows} rows, {len(profile.features)} features")


if __name__ == "__main__":
    main()
