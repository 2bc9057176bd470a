"""Evidently's DataDriftPreset on the generated data; runs inside benchmarks/drift/.venv-evidently.

Prints one JSON line: seconds for Report.run (data already in memory, as Evidently needs it),
peak RSS of this process, and per column the statistic, method and drift flag.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings

from benchmarks.drift import generator as g


def main(n_rows: int, seed: int) -> None:
    warnings.filterwarnings("ignore")
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref, cur = g.frame(n_rows, "reference", seed), g.frame(n_rows, "current", seed)
    definition = DataDefinition(numerical_columns=g.NUMERIC, categorical_columns=g.CATEGORICAL)
    t0 = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    metrics = snapshot.dict()["metrics"]
    seconds = time.perf_counter() - t0
    columns = {}
    for m in metrics:
        cfg = m["config"]
        if not cfg["type"].endswith("ValueDrift"):
            continue
        method, value, threshold = cfg["method"], float(m["value"]), float(cfg["threshold"])
        # distances drift when large; p-value tests (small samples only) when small
        is_distance = "distance" in method.lower() or "jensen" in method.lower()
        drifted = value >= threshold if is_distance else value < threshold
        columns[cfg["column"]] = {"method": method, "statistic": value, "drifted": drifted}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb, "columns": columns}))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 7)
