"""Decision quality: false alarms and detections, ours and Evidently's, on the same windows.

    python -m benchmarks.drift.quality [--trials 200] [--no-evidently]

Datasets: scikit-learn's bundled breast_cancer, wine, diabetes, iris and digits
(benchmarks/drift/datasets.py; california housing is not on disk and needs the network). For
every dataset and window size, `trials` random trials: a reference of 60% of the rows (the
training split) and a window from the other 40% drawn without replacement ("held-out"); when
the held-out split is smaller than the window, both the reference and the window are drawn with
replacement from the whole dataset ("resampled", so both come from one distribution, see
windows.plan). Each window is scored unchanged and with four shifts of one column picked at
random per trial: mean + 0.5 sd, mean + 1 sd, scale x1.5 around the mean (a numeric column with
more than 5 values), and the share of one category of the binned column doubled.

A window alarms (ours) when any feature alarm or the drift_score alarm would fire; Evidently's
window verdicts: any column flagged, and its dataset drift (>= 50% of columns). A shift is
detected when the shifted column is flagged.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.drift import datasets
from benchmarks.drift import quality_summary as qs
from benchmarks.drift import windows as w
from infra.config import DriftConfig
from pipelines.drift import build_profile, check_drift

ROOT = Path(__file__).resolve().parents[2]
EVIDENTLY_PY = Path(__file__).resolve().parent / ".venv-evidently" / "bin" / "python"


def ours(tables: list[w.Table], trials: dict, config: DriftConfig) -> list[dict]:
    out = []
    for table in tables:
        for (name, size), ts in trials.items():
            if name != table.name:
                continue
            for i, trial in enumerate(ts):
                profile = build_profile([w.reference(table, trial)], table.features)
                for scenario in w.SCENARIOS:
                    cur = w.window(table, trial, scenario)
                    report = check_drift(
                        profile,
                        [cur],
                        default_threshold=config.default_threshold,
                        confidence=config.confidence,
                        min_rows=config.min_window_rows,
                    )
                    flags = report.drifted_features
                    score_alarm = report.drift_score >= config.score_threshold
                    out.append(
                        {
                            "dataset": name,
                            "size": size,
                            "trial": i,
                            "scenario": scenario,
                            "source": trial.source,
                            "flags": flags,
                            "n_columns": len(table.features),
                            "n_reference": len(trial.ref_rows),
                            "n_tested": sum(
                                f.p_value is not None for f in report.features.values()
                            ),
                            "alarm": bool(flags) or score_alarm,
                            "score_alarm": score_alarm,
                            "shifted": w.shifted_column(table, trial, scenario),
                        }
                    )
    return out


def start_evidently(path: Path, out: Path) -> subprocess.Popen:
    """Evidently scores the same windows in its own process, alongside ours (two cores)."""
    return subprocess.Popen(
        [str(EVIDENTLY_PY), "-m", "benchmarks.drift.evidently_quality", str(path), str(out)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def run(trials: int, seed: int, with_evidently: bool) -> dict:
    tables = datasets.load_all()
    rng = np.random.default_rng(seed)
    plan = {(t.name, size): w.plan(t, size, trials, rng) for t in tables for size in w.SIZES}
    theirs, mismatches, checked = None, None, 0
    with tempfile.TemporaryDirectory() as tmp:
        path, out = Path(tmp) / "windows.npz", Path(tmp) / "evidently.json"
        process = None
        if with_evidently:
            w.save(str(path), tables, plan)
            process = start_evidently(path, out)
        mine = ours(tables, plan, DriftConfig())
        if process is not None:
            if process.wait() != 0:
                raise RuntimeError(f"Evidently's run failed (exit {process.returncode})")
            ev = json.loads(out.read_text())
            theirs, mismatches = ev["windows"], ev["report_mismatches"]
            checked = ev["report_checked"]
    summary = qs.summarize(mine, theirs, alpha=1.0 - DriftConfig().confidence)
    qs.print_tables(summary, trials, [t.name for t in tables])
    if theirs is not None:
        print(
            f"  Evidently's per-column calls checked against Report.run(DataDriftPreset()) on"
            f" {checked} windows: {len(mismatches or [])} differ {mismatches or ''}"
        )
    met = qs.targets(summary)
    print("  targets: " + ", ".join(f"{k}={v}" for k, v in met.items()), flush=True)
    return {
        "summary": {str(k): v for k, v in summary.items()},
        "targets": met,
        "report_mismatches": mismatches,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--no-evidently", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(args.trials, args.seed, not args.no_evidently)))


if __name__ == "__main__":
    main()
