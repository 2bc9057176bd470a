"""Arrival's gzip check against holding the object: seconds and peak memory, side by side.

    python -m benchmarks.arrival_gzip [--mb 100 400]

For each size, one gzip CSV (about 4:1, like a numeric export) is written to a temporary file
and checked in a fresh process (so peak RSS is that run's own), twice:

- ours: `scan_gzip` (functions/data_arrival/gzip_scan.py) over the file as a stream, as the
  Lambda reads an S3 body;
- peer: `gzip.decompress` of the whole object, then a UTF-8 decode: what a check that holds the
  object does (and what a reader that loads the file before parsing it pays).

Printed: seconds, MB/s of uncompressed output, peak RSS, and ours/peer ratios. The last line is
one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_OURS = """
import resource, sys, time
from functions.data_arrival.gzip_scan import GzipLimits, scan_gzip
path, size = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
with open(path, "rb") as stream:
    result = scan_gzip(stream, size, GzipLimits(8 * 1024**3, 1032))
assert isinstance(result, tuple), result
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""
_PEER = """
import gzip, resource, sys, time
path = sys.argv[1]
start = time.perf_counter()
with open(path, "rb") as f:
    gzip.decompress(f.read()).decode("utf-8")
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""
_BASELINE = """
import resource
import functions.data_arrival.gzip_scan
print(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def _write_csv_gz(path: Path, megabytes: int) -> int:
    """A CSV of `megabytes` MB, gzipped; returns its uncompressed size."""
    rng = random.Random(7)
    block = "".join(
        f"{rng.randint(0, 120)},{rng.random() * 500:.2f},{rng.choice(('north', 'south'))},"
        f"{rng.randint(0, 1)}\n"
        for _ in range(20_000)
    ).encode()
    total = 0
    with gzip.open(path, "wb", compresslevel=6) as out:
        out.write(b"tenure,charges,region,churned\n")
        while total < megabytes * 1024**2:
            out.write(block)
            total += len(block)
    return total


def _measure(code: str, path: Path) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(path.stat().st_size)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, peak = out.stdout.split()
    return float(seconds), int(peak)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, nargs="+", default=[100, 400])
    args = parser.parse_args()
    _, interpreter = _measure(_BASELINE, Path(__file__))
    figures = {"interpreter_peak_rss_mb": interpreter / 1024**2, "runs": []}
    print(f"interpreter and imports alone: {interpreter / 1024**2:.0f} MB peak RSS")
    with tempfile.TemporaryDirectory() as folder:
        for megabytes in args.mb:
            path = Path(folder) / f"{megabytes}.csv.gz"
            uncompressed = _write_csv_gz(path, megabytes)
            ours, peer = _measure(_OURS, path), _measure(_PEER, path)
            run = {
                "uncompressed_mb": uncompressed / 1024**2,
                "compressed_mb": path.stat().st_size / 1024**2,
                "ours_s": ours[0],
                "peer_s": peer[0],
                "ours_peak_rss_mb": ours[1] / 1024**2,
                "peer_peak_rss_mb": peer[1] / 1024**2,
            }
            figures["runs"].append(run)
            print(
                f"{run['uncompressed_mb']:.0f} MB ({run['compressed_mb']:.0f} MB gzip): "
                f"scan_gzip {ours[0]:.2f} s ({uncompressed / ours[0] / 1e6:.0f} MB/s), "
                f"{run['ours_peak_rss_mb']:.0f} MB peak | gzip.decompress {peer[0]:.2f} s, "
                f"{run['peer_peak_rss_mb']:.0f} MB peak | time x{ours[0] / peer[0]:.2f}, "
                f"memory x{ours[1] / peer[1]:.3f}"
            )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
