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
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.drift import datasets
from benchmarks.drift import windows as w
from infra.config import DriftConfig
from pipelines.drift import build_profile, check_drift

ROOT = Path(__file__).resolve().parents[2]
EVIDENTLY_PY = Path(__file__).resolve().parent / ".venv-evidently" / "bin" / "python"
TARGET_FALSE_ALARMS = 0.01
TARGET_DETECTION_1SD = 0.95


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


def summarize(mine: list[dict], theirs: list[dict] | None) -> dict[int, dict]:
    """Per size, pooled over datasets: the rates and the window counts behind them."""
    key = {(r["dataset"], r["size"], r["trial"], r["scenario"]): r for r in theirs or []}
    cells: dict[int, dict] = defaultdict(lambda: defaultdict(list))
    for r in mine:
        c = cells[r["size"]]
        e = key.get((r["dataset"], r["size"], r["trial"], r["scenario"]))
        if r["scenario"] == "none":
            c["fa_feature"].append(len(r["flags"]) / r["n_columns"])
            c["fa_window"].append(r["alarm"])
            c["fa_score"].append(r["score_alarm"])
            c["sources"].append(r["source"])
            if e:
                c["ev_fa_feature"].append(len(e["flags"]) / e["n_columns"])
                c["ev_fa_any"].append(bool(e["flags"]))
                c["ev_fa_dataset"].append(e["dataset_drift"])
        else:
            c["det " + r["scenario"]].append(r["shifted"] in r["flags"])
            if e:
                c["ev_det " + r["scenario"]].append(r["shifted"] in e["flags"])
    out = {}
    for size, c in sorted(cells.items()):
        row = {k: float(np.mean(v)) for k, v in c.items() if k != "sources"}
        row["null_windows"] = len(c["fa_window"])
        row["shift_windows"] = len(c["det mean+1sd"])
        row["resampled_share"] = float(np.mean([s == "resampled" for s in c["sources"]]))
        out[size] = row
    return out


def print_table(summary: dict[int, dict], trials: int, datasets_: list[str]) -> None:
    has_ev = any("ev_fa_any" in r for r in summary.values())
    print(
        f"decision quality: {len(datasets_)} datasets ({', '.join(datasets_)}), {trials} trials"
        " per dataset and size; rates pooled over datasets"
    )
    head = f"{'rows':>6} {'windows':>7} {'resampled':>9} | {'false alarms / feature-window':^29} |"
    head += f" {'false alarms / window':^31} |"
    for s in w.SCENARIOS[1:]:
        head += f" {'detect ' + s:^15} |"
    print(head)
    sub = f"{'':>6} {'':>7} {'':>9} | {'ours':>14} {'Evidently':>14} |"
    sub += f" {'ours':>9} {'Ev any':>10} {'Ev set':>10} |"
    sub += " ours     Ev    |" * (len(w.SCENARIOS) - 1)
    print(sub)
    for size, r in summary.items():
        line = f"{size:>6} {r['null_windows']:>7} {r['resampled_share']:>9.0%} |"
        line += f" {r['fa_feature']:>14.4%} {r.get('ev_fa_feature', float('nan')):>14.4%} |"
        line += f" {r['fa_window']:>9.2%} {r.get('ev_fa_any', float('nan')):>10.2%}"
        line += f" {r.get('ev_fa_dataset', float('nan')):>10.2%} |"
        for s in w.SCENARIOS[1:]:
            line += f" {r['det ' + s]:>6.1%} {r.get('ev_det ' + s, float('nan')):>6.1%} |"
        print(line)
    n = next(iter(summary.values()))["null_windows"]
    print(
        f"  {n} unchanged and {n} shifted windows per size and shift (one resolution step:"
        f" {1 / n:.2%}); 'Ev any': Evidently flags any column; 'Ev set': its dataset drift"
        " (>= 50% of columns); ours: any feature alarm or the drift_score alarm; resampled: share"
        " of windows drawn with replacement from the whole dataset (held-out split too small)."
    )
    if not has_ev:
        print("  (Evidently not run)")


def targets(summary: dict[int, dict]) -> dict[str, bool]:
    fa_ok = all(r["fa_window"] <= TARGET_FALSE_ALARMS for r in summary.values())
    det_ok = all(r["det mean+1sd"] >= TARGET_DETECTION_1SD for s, r in summary.items() if s >= 100)
    out = {"false_alarms_per_window_le_1pct": fa_ok, "detect_1sd_ge_95pct_from_100": det_ok}
    if all("ev_fa_any" in r for r in summary.values()):
        out["false_alarms_vs_evidently_any"] = all(
            r["fa_window"] <= r["ev_fa_any"] for r in summary.values()
        )
        out["false_alarms_vs_evidently_dataset_drift"] = all(
            r["fa_window"] <= r["ev_fa_dataset"] for r in summary.values()
        )
        out["detect_1sd_vs_evidently"] = all(
            r["det mean+1sd"] >= r["ev_det mean+1sd"] for r in summary.values()
        )
    return out


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
    summary = summarize(mine, theirs)
    print_table(summary, trials, [t.name for t in tables])
    if theirs is not None:
        print(
            f"  Evidently's per-column calls checked against Report.run(DataDriftPreset()) on"
            f" {checked} windows: {len(mismatches or [])} differ {mismatches or ''}"
        )
    met = targets(summary)
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
