"""python -m benchmarks.loop [--config config/dev.json]

Runs `mlops demo` once and prints each stage's wall time, the upload-to-registered time and the
whole loop, against the targets on 2 cores (upload to registered <= 20 s, whole demo <= 90 s).
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from emulator.demo import handler_logs_to, run_demo

TARGETS = {"upload_to_registered_s": 20.0, "whole_demo_s": 90.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config/dev.json")
    args = parser.parse_args()
    with handler_logs_to(Path(".mlops/bench-loop.log")) as out:
        started = time.perf_counter()
        result = run_demo(Path(args.config), out=lambda _line: None)
        whole = time.perf_counter() - started
        figures = {s.name: round(s.seconds, 2) for s in result.stages}
        figures["upload_to_registered_s"] = round(
            result.seconds("upload") + result.seconds("train"), 2
        )
        figures["whole_demo_s"] = round(whole, 2)
        for name, seconds in figures.items():
            target = TARGETS.get(name)
            verdict = (
                ""
                if target is None
                else (f"  target <= {target:.0f}s: {'met' if seconds <= target else 'MISSED'}")
            )
            out(f"{name:<24} {seconds:7.2f}s{verdict}")
        out(json.dumps(figures))
    return 0 if all(figures[k] <= v for k, v in TARGETS.items()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
