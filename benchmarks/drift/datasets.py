"""Public tabular datasets bundled with scikit-learn (on disk, no network), as benchmark tables.

Every table gets one categorical column, BINNED: the quintile (b1..b5) of its numeric column
with the most distinct values, so each dataset has a category whose frequency can be doubled.
diabetes' `sex` (two values) is categorical as well. Nothing else is changed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import datasets

from benchmarks.drift.windows import BINNED, Table

LOADERS = {
    "breast_cancer": datasets.load_breast_cancer,
    "wine": datasets.load_wine,
    "diabetes": lambda **kw: datasets.load_diabetes(scaled=False, **kw),
    "iris": datasets.load_iris,
    "digits": datasets.load_digits,
}
CATEGORICAL = {"diabetes": ["sex"]}


def load(name: str) -> Table:
    frame: pd.DataFrame = LOADERS[name](as_frame=True).data
    frame.columns = [str(c).replace(" ", "_") for c in frame.columns]
    categorical = CATEGORICAL.get(name, [])
    numeric = [c for c in frame.columns if c not in categorical]
    source = max(numeric, key=lambda c: frame[c].nunique())
    edges = np.quantile(frame[source], [0.2, 0.4, 0.6, 0.8])
    codes, labels = [], []
    for c in categorical:
        values = sorted(frame[c].unique())
        codes.append(np.searchsorted(values, frame[c]))
        labels.append([str(v) for v in values])
    codes.append(np.searchsorted(edges, frame[source], side="right"))
    labels.append([f"b{i}" for i in range(1, 6)])
    return Table(
        name=name,
        numeric=numeric,
        categorical=[*categorical, BINNED],
        x=frame[numeric].to_numpy(dtype=np.float64),
        codes=np.column_stack(codes).astype(np.int64),
        labels=labels,
    )


def load_all() -> list[Table]:
    return [load(name) for name in LOADERS]
