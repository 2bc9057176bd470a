"""Windows of the decision-quality benchmark: the same rows and shifts for both engines.

numpy and pandas only: imported from both virtualenvs (pandas 3 here, pandas 2 next to
Evidently). The plan (which rows form each reference and window, which feature is shifted,
which rows are relabelled) is drawn once in our process and stored as arrays; each engine then
rebuilds the frames with `reference` and `window` from the same arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SIZES = (30, 100, 300, 1_000, 10_000)
REFERENCE_SHARE = 0.6  # the training split; the rest is held out
SCENARIOS = ("none", "mean+0.5sd", "mean+1sd", "scale*1.5", "category*2")
BINNED = "binned"  # the categorical column added to every dataset (quintiles of one feature)
MIN_DISTINCT_TO_SHIFT = 6  # mean and scale shifts go to numeric columns with > 5 values


@dataclass
class Table:
    """One dataset: numeric columns as float64, categorical ones as integer codes."""

    name: str
    numeric: list[str]
    categorical: list[str]
    x: np.ndarray  # rows x numeric
    codes: np.ndarray  # rows x categorical
    labels: list[list[str]]  # per categorical column, code -> label

    @property
    def n_rows(self) -> int:
        return self.x.shape[0]

    @property
    def features(self) -> dict[str, str]:
        return {
            **dict.fromkeys(self.numeric, "numeric"),
            **dict.fromkeys(self.categorical, "categorical"),
        }


@dataclass
class Trial:
    """One reference and one window of rows; the shifts are applied to that window."""

    source: str  # "held-out": disjoint rows of one split; "resampled": both bootstrapped
    ref_rows: np.ndarray
    win_rows: np.ndarray
    shift_column: int  # index into Table.numeric
    category: int  # code of BINNED whose share is doubled
    relabel: np.ndarray  # window positions relabelled to `category`


def plan(table: Table, size: int, trials: int, rng: np.random.Generator) -> list[Trial]:
    """Held-out rows when the held-out split has `size` rows; else both sides resampled.

    A window resampled from a small held-out split would repeat its few rows, and any test
    (ours or Evidently's) would read that sample's own noise as drift; resampling the
    reference and the window from the whole dataset keeps them from one distribution.
    """
    n = table.n_rows
    n_ref = int(round(REFERENCE_SHARE * n))
    shiftable = [
        j
        for j in range(len(table.numeric))
        if np.unique(table.x[:, j]).size >= MIN_DISTINCT_TO_SHIFT
    ]
    b = table.categorical.index(BINNED)
    shares = np.bincount(table.codes[:, b], minlength=len(table.labels[b])) / n
    out = []
    for _ in range(trials):
        if size <= n - n_ref:
            order = rng.permutation(n)
            ref, win, source = (
                order[:n_ref],
                rng.choice(order[n_ref:], size, replace=False),
                "held-out",
            )
        else:
            ref, win, source = rng.integers(0, n, n_ref), rng.integers(0, n, size), "resampled"
        # a category that can double: present, and under half the rows
        category = int(rng.choice(np.flatnonzero((shares > 0) & (shares < 0.5))))
        p = shares[category]
        others = np.flatnonzero(table.codes[win, b] != category)
        relabel = others[rng.random(others.size) < p / (1 - p)]  # expected share: 2p
        out.append(Trial(source, ref, win, int(rng.choice(shiftable)), category, relabel))
    return out


def reference(table: Table, trial: Trial) -> pd.DataFrame:
    return _frame(table, table.x[trial.ref_rows], table.codes[trial.ref_rows])


def window(table: Table, trial: Trial, scenario: str) -> pd.DataFrame:
    """The window for one scenario; "none" is the unchanged window."""
    x = table.x[trial.win_rows].copy()
    codes = table.codes[trial.win_rows].copy()
    j = trial.shift_column
    col = table.x[:, j]
    if scenario == "mean+0.5sd":
        x[:, j] += 0.5 * col.std()
    elif scenario == "mean+1sd":
        x[:, j] += col.std()
    elif scenario == "scale*1.5":
        x[:, j] = col.mean() + 1.5 * (x[:, j] - col.mean())
    elif scenario == "category*2":
        codes[trial.relabel, table.categorical.index(BINNED)] = trial.category
    elif scenario != "none":
        raise ValueError(f"unknown scenario {scenario!r}")
    return _frame(table, x, codes)


def shifted_column(table: Table, trial: Trial, scenario: str) -> str | None:
    if scenario == "none":
        return None
    return BINNED if scenario == "category*2" else table.numeric[trial.shift_column]


def _frame(table: Table, x: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
    cols: dict[str, object] = {name: x[:, j] for j, name in enumerate(table.numeric)}
    for k, name in enumerate(table.categorical):
        cols[name] = np.asarray(table.labels[k], dtype=object)[codes[:, k]]
    return pd.DataFrame(cols)


def save(path: str, tables: list[Table], trials: dict[tuple[str, int], list[Trial]]) -> None:
    arrays: dict[str, np.ndarray] = {}
    meta = []
    for t in tables:
        arrays[f"{t.name}/x"], arrays[f"{t.name}/codes"] = t.x, t.codes
        meta.append(
            {"name": t.name, "numeric": t.numeric, "categorical": t.categorical, "labels": t.labels}
        )
    index = []
    for (name, size), ts in trials.items():
        for i, tr in enumerate(ts):
            key = f"{name}/{size}/{i}"
            arrays[key + "/ref"], arrays[key + "/win"] = tr.ref_rows, tr.win_rows
            arrays[key + "/relabel"] = tr.relabel
            index.append([name, size, i, tr.source, tr.shift_column, tr.category])
    import json

    arrays["meta"] = np.frombuffer(json.dumps({"tables": meta, "trials": index}).encode(), np.uint8)
    np.savez(path, **arrays)


def load(path: str) -> tuple[list[Table], dict[tuple[str, int], list[Trial]]]:
    import json

    z = np.load(path)
    meta = json.loads(z["meta"].tobytes())
    tables = [
        Table(
            m["name"],
            m["numeric"],
            m["categorical"],
            z[f"{m['name']}/x"],
            z[f"{m['name']}/codes"],
            m["labels"],
        )
        for m in meta["tables"]
    ]
    trials: dict[tuple[str, int], list[Trial]] = {}
    for name, size, i, source, column, category in meta["trials"]:
        key = f"{name}/{size}/{i}"
        trials.setdefault((name, size), []).append(
            Trial(source, z[key + "/ref"], z[key + "/win"], column, category, z[key + "/relabel"])
        )
    return tables, trials
