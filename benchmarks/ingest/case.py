"""One measured case of the ingest benchmark, in its own process (see __main__.py).

    python -m benchmarks.ingest.case generate <dir> <rows> [<chunks>]
    python -m benchmarks.ingest.case run <case> <data file> <work dir>

<case> is `validate` (the Validate job on the one data file, its accepted rows left in
<work dir>/validated), `preprocess` (the Preprocess job on those rows, as its own processing job
runs it, in its own process), `whole-split` (Preprocess's peer: those rows read into one frame
and split by scikit-learn, as Preprocess did before it streamed) or `pandas-read` (Validate's
peer). `run` prints one JSON line: the
phases' seconds and the process's peak RSS (ru_maxrss), which, unlike tracemalloc, counts what
pyarrow and numpy allocate outside Python's allocator.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines.entrypoints import preprocess, validate
from pipelines.entrypoints.common import pack_schema
from pipelines.limits import ReadLimits
from pipelines.schema import DatasetSchema
from pipelines.steps.tabular import read_typed, to_typed

N_NUMERIC, N_CATEGORICAL = 20, 4
CATEGORIES = ("alpha", "beta", "gamma", "delta", "epsilon")
CHUNK_ROWS = 250_000


def schema() -> DatasetSchema:
    """25 columns: 20 numeric and 4 categorical features, and a binary target."""
    features = [{"name": f"num_{i:02d}", "type": "numeric"} for i in range(N_NUMERIC)]
    features += [
        {"name": f"cat_{i}", "type": "categorical", "categories": list(CATEGORIES)}
        for i in range(N_CATEGORICAL)
    ]
    return DatasetSchema(
        target="label", problem_type="classification", classes=("0", "1"), features=features
    )


def _chunk(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns = {f"num_{i:02d}": rng.normal(50, 20, rows).round(4) for i in range(N_NUMERIC)}
    for i in range(N_CATEGORICAL):
        columns[f"cat_{i}"] = np.asarray(CATEGORIES, dtype=object)[rng.integers(0, 5, rows)]
    columns["label"] = (columns["num_00"] + rng.normal(0, 10, rows) > 50).astype(np.int64)
    return pa.table(columns)


def generate(out_dir: Path, rows: int, formats: str = "csv,parquet") -> None:
    """The same rows as CSV and as Parquet, written chunk by chunk (flat memory)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    writers: dict = {}
    done = 0
    while done < rows:
        table = _chunk(min(CHUNK_ROWS, rows - done), seed=done)
        if "csv" in formats:
            if "csv" not in writers:
                writers["csv"] = pacsv.CSVWriter(out_dir / "data.csv", table.schema)
            writers["csv"].write_table(table)
        if "parquet" in formats:
            if "parquet" not in writers:
                writers["parquet"] = pq.ParquetWriter(out_dir / "data.parquet", table.schema)
            writers["parquet"].write_table(table)
        done += table.num_rows
    for writer in writers.values():
        writer.close()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def run(case: str, data: Path, work: Path) -> dict:
    parts = ["--schema", *pack_schema(schema())]
    figures: dict = {"case": case, "file": data.name, "file_mb": data.stat().st_size / 2**20}
    start = time.perf_counter()
    if case == "preprocess":
        preprocess.main([*parts, "--input", str(work / "validated"), "--output", str(work / "out")])
        figures["preprocess_s"] = time.perf_counter() - start
        figures["preprocess_peak_mb"] = _peak_mb()
        return figures
    if case == "whole-split":
        # Imported here: scikit-learn's import alone adds tens of MB to every other case's peak.
        from sklearn.model_selection import train_test_split

        frame = read_typed(work / "validated", schema())
        held, _ = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["label"])
        train_test_split(held, test_size=0.5, random_state=0, stratify=held["label"])
        figures["preprocess_s"] = time.perf_counter() - start
        figures["preprocess_peak_mb"] = _peak_mb()
        return figures
    if case == "pandas-read":
        # The peer: the whole file read at once as text by pandas, then typed.
        raw = pd.read_csv(data, dtype=str, skipinitialspace=True)
        typed = to_typed(raw, schema())
        figures["rows"] = len(typed)
        figures["validate_s"] = time.perf_counter() - start
        figures["validate_peak_mb"] = _peak_mb()
        return figures
    # The Validate job, reading only this one file.
    (work / "in").mkdir(parents=True, exist_ok=True)
    link = work / "in" / data.name
    if not link.exists():
        link.symlink_to(data)
    validate.main(
        [
            *parts,
            "--input", str(work / "in"),
            "--output", str(work / "validated"),
            "--report", str(work / "report"),
            "--message-file", str(work / "message"),
            "--max-uncompressed-mb", str(ReadLimits().max_uncompressed_mb),
        ]
    )  # fmt: skip
    figures["validate_s"] = time.perf_counter() - start
    figures["validate_peak_mb"] = _peak_mb()
    report = json.loads((work / "report" / "validation.json").read_text())
    figures["rows"] = report["n_rows"]
    return figures


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "generate":
        generate(Path(rest[0]), int(rest[1]), *(rest[2:] or []))
    else:
        print(json.dumps(run(rest[0], Path(rest[1]), Path(rest[2]))))
