"""Ingest benchmark: Validate + Preprocess on 1M rows x 25 columns, CSV against Parquet, and
Validate's memory on a large CSV.

    python -m benchmarks.ingest [--rows 1000000] [--large-rows 8000000] [--work DIR] [--keep]

Each case runs in a fresh process (benchmarks/ingest/case.py) and reports its own peak RSS
(ru_maxrss): tracemalloc would miss what pyarrow and numpy allocate. This parent imports no
pandas or pyarrow, so that a child's RSS is its own (Linux carries the parent's into the child).
The peer for memory is pandas reading the whole file at once as text (what Validate did before
it streamed). Validate and Preprocess run in processes of their own, as their processing jobs
do. The large case shows what stays bounded: Validate's peak grows with the rows only by the
8-byte row hash of the duplicate check; Preprocess reads, splits and writes a batch at a time,
so its peak stays where it is at 1M rows. The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIVE_GB_MB = 5 * 1024


def _child(*args: str) -> dict | None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.ingest.case", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    lines = out.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None


def _case(case: str, data: Path, work: Path) -> dict:
    """One child per job: `validate+preprocess` runs Validate, then Preprocess on its output."""
    folder = work / f"{case}-{data.name}"
    shutil.rmtree(folder, ignore_errors=True)
    figures: dict = {}
    for job in case.split("+"):
        result = _child("run", job, str(data), str(folder))
        assert result is not None
        figures = {**result, **figures}
    figures["case"] = case
    shutil.rmtree(folder, ignore_errors=True)
    if "preprocess_peak_mb" in figures:
        figures["peak_mb"] = max(figures["validate_peak_mb"], figures["preprocess_peak_mb"])
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--large-rows", type=int, default=8_000_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        results = run(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, sort_keys=True))


def run(args: argparse.Namespace, work: Path) -> dict:
    small = work / "small"
    started = time.perf_counter()
    _child("generate", str(small), str(args.rows))
    print(f"generated {args.rows:,} rows x 25 columns in {time.perf_counter() - started:.0f}s")
    csv = _case("validate+preprocess", small / "data.csv", work)
    parquet = _case("validate+preprocess", small / "data.parquet", work)
    peer = _case("pandas-read", small / "data.csv", work)
    whole = _case("validate+whole-split", small / "data.parquet", work)
    print()
    print(f"Validate + Preprocess, {args.rows:,} rows x 25 columns (seconds, peak RSS MB)")
    print(f"{'':24}{'CSV':>12}{'Parquet':>12}{'Parquet/CSV':>14}")
    for label, key in (
        ("file size (MB)", "file_mb"),
        ("Validate (s)", "validate_s"),
        ("Preprocess (s)", "preprocess_s"),
        ("Validate peak (MB)", "validate_peak_mb"),
        ("Preprocess peak (MB)", "preprocess_peak_mb"),
    ):
        print(f"{label:24}{csv[key]:>12.1f}{parquet[key]:>12.1f}{parquet[key] / csv[key]:>14.2f}")
    print()
    print("Validate's read against the peer (pandas.read_csv of the whole file as text, typed)")
    print(f"{'':24}{'Validate':>12}{'pandas':>12}{'Validate/pandas':>16}")
    print(
        f"{'CSV read (s)':24}{csv['validate_s']:>12.1f}{peer['validate_s']:>12.1f}"
        f"{csv['validate_s'] / peer['validate_s']:>16.2f}"
    )
    print(
        f"{'peak (MB)':24}{csv['validate_peak_mb']:>12.0f}{peer['validate_peak_mb']:>12.0f}"
        f"{csv['validate_peak_mb'] / peer['validate_peak_mb']:>16.2f}"
    )
    print()
    print("Preprocess against the peer (the rows in one frame, split by scikit-learn), Parquet")
    print(f"{'':24}{'Preprocess':>12}{'whole':>12}{'Preprocess/whole':>18}")
    for label, key in (("seconds", "preprocess_s"), ("peak (MB)", "preprocess_peak_mb")):
        print(
            f"{label:24}{parquet[key]:>12.1f}{whole[key]:>12.1f}{parquet[key] / whole[key]:>18.2f}"
        )
    results = {
        "rows": args.rows,
        "csv": csv,
        "parquet": parquet,
        "pandas_read": peer,
        "whole_split": whole,
    }
    if args.large_rows:
        results["large"] = _large(args, work, csv)
    return results


def _large(args: argparse.Namespace, work: Path, small: dict) -> dict:
    large_dir = work / "large"
    started = time.perf_counter()
    _child("generate", str(large_dir), str(args.large_rows), "csv")
    print(f"\ngenerated {args.large_rows:,} rows in {time.perf_counter() - started:.0f}s")
    large = _case("validate+preprocess", large_dir / "data.csv", work)
    (large_dir / "data.csv").unlink()
    per_mb = (large["validate_peak_mb"] - small["validate_peak_mb"]) / (
        large["file_mb"] - small["file_mb"]
    )
    at_5gb = large["validate_peak_mb"] + per_mb * (FIVE_GB_MB - large["file_mb"])
    pre_per_mb = (large["preprocess_peak_mb"] - small["preprocess_peak_mb"]) / (
        large["file_mb"] - small["file_mb"]
    )
    pre_at_5gb = large["preprocess_peak_mb"] + pre_per_mb * (FIVE_GB_MB - large["file_mb"])
    print("Memory against the input size (CSV)")
    for f in (small, large):
        print(
            f"  {f['file_mb']:>8.0f} MB ({f['rows']:>11,} rows): "
            f"Validate peak {f['validate_peak_mb']:.0f} MB, {f['validate_s']:.1f}s; "
            f"Preprocess peak {f['preprocess_peak_mb']:.0f} MB, {f['preprocess_s']:.1f}s"
        )
    for job, growth, at in (("Validate", per_mb, at_5gb), ("Preprocess", pre_per_mb, pre_at_5gb)):
        print(
            f"  {job}: growth {growth * 1024:.1f} KB of peak per MB of input; a 5 GB input "
            f"extrapolates to a peak of about {at:.0f} MB"
        )
    return {
        **large,
        "peak_growth_mb_per_input_mb": per_mb,
        "extrapolated_5gb_peak_mb": at_5gb,
        "preprocess_peak_growth_mb_per_input_mb": pre_per_mb,
        "preprocess_extrapolated_5gb_peak_mb": pre_at_5gb,
    }


if __name__ == "__main__":
    main()
