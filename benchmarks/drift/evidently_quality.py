"""Evidently's drift decisions on the benchmark windows; runs inside .venv-evidently.

    python -m benchmarks.drift.evidently_quality <windows.npz> <out.json>

Per column this calls what Evidently's ValueDrift calculation calls (get_one_column_drift:
get_stattest with the default method, then the test at its default threshold), which is the
DataDriftPreset's per-column decision without building a Report per window (a Report costs
~0.3 s, there are tens of thousands of windows). The first trial of every dataset at 100 rows
(unchanged and mean + 1 sd) is also run through Report.run(DataDriftPreset()) and its flags
compared, so the shortcut is checked in every run. A shifted window differs from the unchanged
one in one column only, so only that column is tested again. Dataset drift is Evidently's own
window verdict: drifted columns / columns >= drift_share 0.5.
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np

from benchmarks.drift import windows as w

DRIFT_SHARE = 0.5
# Evidently's tests whose drift_score is a p-value (drifted when under the threshold); the others
# it picks (wasserstein, jensenshannon, above 1,000 reference rows) give a distance.
P_VALUE_TESTS = {"ks", "chisquare", "z"}
CHECKED_SIZE = 100  # Report.run on the first trial of this size, unchanged and mean + 1 sd


def main(path: str, out: str) -> None:
    warnings.filterwarnings("ignore")
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    tables, trials = w.load(path)
    results = []
    mismatches = []
    checked = 0
    for table in tables:
        kinds = {c: ColumnType.Numerical for c in table.numeric}
        kinds.update({c: ColumnType.Categorical for c in table.categorical})
        for (name, size), ts in trials.items():
            if name != table.name:
                continue
            for i, trial in enumerate(ts):
                ref = w.reference(table, trial)
                unchanged: list[str] = []
                unchanged_p: dict[str, float | None] = {}
                for scenario in w.SCENARIOS:
                    cur = w.window(table, trial, scenario)
                    shifted = w.shifted_column(table, trial, scenario)
                    # a shift changes one column: the others' results are the unchanged window's
                    flags = [c for c in unchanged if c != shifted]
                    pvalues = dict(unchanged_p)
                    for column in kinds if shifted is None else [shifted]:
                        kind = kinds[column]
                        test = get_stattest(ref[column], cur[column], kind, None)
                        result = test(ref[column], cur[column], kind, None)
                        if result.drifted:
                            flags.append(column)
                        is_p = test.name in P_VALUE_TESTS
                        pvalues[column] = float(result.drift_score) if is_p else None
                    if shifted is None:
                        unchanged, unchanged_p = list(flags), dict(pvalues)
                    if i == 0 and size == CHECKED_SIZE and scenario in ("none", "mean+1sd"):
                        report_flags = _report_flags(table, ref, cur)
                        checked += 1
                        if sorted(report_flags) != sorted(flags):
                            mismatches.append([name, size, scenario, flags, report_flags])
                    results.append(
                        {
                            "dataset": name,
                            "size": size,
                            "trial": i,
                            "scenario": scenario,
                            "flags": flags,
                            # per column: the test's p-value, None where it gave a distance
                            "pvalues": pvalues,
                            "n_columns": len(kinds),
                            "dataset_drift": len(flags) / len(kinds) >= DRIFT_SHARE,
                        }
                    )
    with open(out, "w") as f:
        json.dump(
            {"windows": results, "report_checked": checked, "report_mismatches": mismatches}, f
        )


def _report_flags(table: w.Table, ref, cur) -> list[str]:  # noqa: ANN001
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=table.numeric, categorical_columns=table.categorical
    )
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    flags = []
    for m in snapshot.dict()["metrics"]:
        cfg = m["config"]
        if not cfg["type"].endswith("ValueDrift"):
            continue
        method, value, threshold = cfg["method"], float(m["value"]), float(cfg["threshold"])
        is_distance = "distance" in method.lower() or "jensen" in method.lower()
        if (value >= threshold) if is_distance else (value < threshold):
            flags.append(cfg["column"])
    return flags


if __name__ == "__main__":
    np.seterr(all="ignore")
    main(sys.argv[1], sys.argv[2])
