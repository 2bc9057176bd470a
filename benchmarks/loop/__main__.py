"""python -m benchmarks.loop [--config config/dev.json]

Runs `mlops demo` once and prints each stage's wall time, the upload-to-registered time and the
whole loop, against the targets on 2 cores (upload to registered <= 8 s, whole demo <= 30 s),
then each Lambda function's execution environments: the cold start (process start, the handler
module's import) and the overhead of a warm invocation (what the worker adds to the handler's own
time). The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from emulator.demo import handler_logs_to, run_demo

TARGETS = {"upload_to_registered_s": 8.0, "whole_demo_s": 30.0}


def _ms(values: list[float]) -> float | None:
    return round(statistics.median(values) * 1000, 1) if values else None


def lambda_figures(stats: dict) -> dict[str, dict]:
    out = {}
    for name, s in sorted(stats.items()):
        out[name] = {
            "cold_starts": s["cold_starts"],
            "cold_start_ms": _ms([t.init + t.overhead for t in s["cold"]]),
            "cold_init_ms": _ms([t.init for t in s["cold"]]),
            "warm_overhead_ms": _ms([t.overhead for t in s["warm"]]),
            "warm_handler_ms": _ms([t.handler for t in s["warm"]]),
            "warm_invocations": len(s["warm"]),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config/dev.json")
    args = parser.parse_args()
    with handler_logs_to(Path(".mlops/bench-loop.log")) as out:
        started = time.perf_counter()
        result = run_demo(Path(args.config), out=lambda _line: None)
        whole = time.perf_counter() - started
        figures: dict = {s.name: round(s.seconds, 2) for s in result.stages}
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
        figures["lambda"] = lambda_figures(result.lambda_stats)
        out("Lambda execution environments (median ms):")
        for name, f in figures["lambda"].items():
            out(
                f"  {name:<28} cold start {f['cold_start_ms']} (of which import "
                f"{f['cold_init_ms']}), warm overhead {f['warm_overhead_ms']} over "
                f"{f['warm_invocations']} warm invocations"
            )
        out(json.dumps(figures))
    return 0 if all(figures[k] <= v for k, v in TARGETS.items()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
