"""Train / validation / test split, the same for the same data, seed and batch size, in bounded
memory: the rows pass once through in batches and each batch is sent to the three splits.

The split is planned from the rows per class (a cheap first pass over the target column): the
sizes of the three splits are fixed for the whole data, as scikit-learn's `train_test_split`
fixes them, and shared among the classes in proportion (stratified for classification, one
stratum for regression). The rows of each class are then dealt batch by batch: a batch's share
of each split is a multivariate hypergeometric draw from what that class has left to place, and
shuffled among the batch's rows, which makes every assignment with the planned sizes equally
likely, as a shuffle of all rows at once would, while holding one batch at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.schema import DatasetSchema
from pipelines.steps.tabular import to_frame, typed_schema

SPLITS = ("train", "validation", "test")
# The stratum of every row when there are no classes (regression).
ONE_STRATUM = ""


@dataclass
class Splits:
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


def check_fractions(validation_fraction: float, test_fraction: float) -> None:
    if not 0 < validation_fraction < 1 or not 0 < test_fraction < 1:
        raise ValueError(
            f"validation and test fractions must be between 0 and 1, "
            f"got {validation_fraction} and {test_fraction}"
        )
    if validation_fraction + test_fraction >= 1:
        raise ValueError(
            f"validation and test fractions leave no training rows: "
            f"{validation_fraction} + {test_fraction} >= 1"
        )


def strata(batch: pa.RecordBatch | pa.Table, schema: DatasetSchema) -> pa.Array:
    """The stratum of each row: its class for classification, one stratum for regression."""
    if schema.problem_type != "classification":
        return pa.repeat(pa.scalar(ONE_STRATUM, pa.string()), len(batch))
    column = batch.column(schema.target)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pc.fill_null(column.cast(pa.string()), ONE_STRATUM)


def count_strata(columns: Iterable[pa.Array]) -> dict[str, int]:
    """Rows per stratum over batches of stratum labels (the first pass)."""
    counts: dict[str, int] = {}
    for column in columns:
        for row in pc.value_counts(column).to_pylist():
            counts[row["values"]] = counts.get(row["values"], 0) + row["counts"]
    return counts


def plan_split(
    counts: Mapping[str, int], *, validation_fraction: float, test_fraction: float
) -> dict[str, list[int]]:
    """Per stratum, its rows in train, validation and test.

    The totals are scikit-learn's: ceil(held-out fraction x rows) held out, of which
    ceil(test share) go to test. Each held-out split is shared among the strata in proportion,
    the rounding left over going to the largest remainders, and a stratum keeps at least one
    training row where it can, so a rare class still reaches the model.
    """
    check_fractions(validation_fraction, test_fraction)
    n = sum(counts.values())
    held_fraction = validation_fraction + test_fraction
    held = min(n, math.ceil(round(held_fraction * n, 9)))
    n_test = math.ceil(round(test_fraction / held_fraction * held, 9))
    totals = {"validation": held - n_test, "test": n_test}
    names = sorted(counts)
    plan = {name: [0, 0, 0] for name in names}
    for index, split in ((1, "validation"), (2, "test")):
        if n == 0:
            break
        wanted = {name: totals[split] * counts[name] / n for name in names}
        for name in names:
            plan[name][index] = min(
                math.floor(wanted[name]), _room(counts[name], plan[name], keep_one=True)
            )
        by_remainder = sorted(names, key=lambda s: (-(wanted[s] - math.floor(wanted[s])), s))
        short = totals[split] - sum(p[index] for p in plan.values())
        for keep_one in (True, False):
            while short > 0:
                takers = [
                    name for name in by_remainder if _room(counts[name], plan[name], keep_one) > 0
                ]
                for name in takers[:short]:
                    plan[name][index] += 1
                short -= len(takers[:short])
                if not takers:
                    break
        for name in names:
            plan[name][0] = counts[name] - plan[name][1] - plan[name][2]
    return plan


def _room(count: int, row: list[int], keep_one: bool) -> int:
    """How many more of a stratum's rows can be held out."""
    return count - row[1] - row[2] - (1 if keep_one and count > 0 else 0)


class StreamingSplit:
    """Deals the rows of successive batches to the splits of a plan, one batch at a time."""

    def __init__(self, plan: Mapping[str, list[int]], schema: DatasetSchema, *, seed: int):
        self._left = {name: np.array(row, dtype=np.int64) for name, row in plan.items()}
        self._schema = schema
        self._rng = np.random.default_rng(seed)

    def assign(self, batch: pa.RecordBatch) -> np.ndarray:
        """The split (0 train, 1 validation, 2 test) of each row of the batch."""
        encoded = pc.dictionary_encode(strata(batch, self._schema))
        indices = encoded.indices.to_numpy(zero_copy_only=False)
        out = np.empty(len(batch), dtype=np.int8)
        for code, name in enumerate(encoded.dictionary.to_pylist()):
            rows = np.flatnonzero(indices == code)
            left = self._left.get(name)
            if left is None or left.sum() < len(rows):
                raise ValueError(
                    f"stratum {name!r} has more rows than were counted for the split plan "
                    "(the data changed between the two passes)"
                )
            drawn = self._rng.multivariate_hypergeometric(left, len(rows))
            labels = np.repeat(np.arange(3, dtype=np.int8), drawn)
            self._rng.shuffle(labels)
            out[rows] = labels
            left -= drawn
        return out

    def split(self, batch: pa.RecordBatch) -> dict[str, pa.RecordBatch]:
        """The batch's rows of each split, in their order in the batch."""
        assigned = self.assign(batch)
        return {
            name: batch.filter(pa.array(assigned == index)) for index, name in enumerate(SPLITS)
        }


def split_batches(
    batches: Iterable[pa.RecordBatch],
    plan: Mapping[str, list[int]],
    schema: DatasetSchema,
    *,
    seed: int,
) -> Iterator[tuple[str, pa.RecordBatch]]:
    """(split name, rows) for every batch, as the batches come."""
    dealer = StreamingSplit(plan, schema, seed=seed)
    for batch in batches:
        for name, rows in dealer.split(batch).items():
            if len(rows):
                yield name, rows


def split_frame(
    frame: pd.DataFrame,
    schema: DatasetSchema,
    *,
    seed: int,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    batch_rows: int | None = None,
) -> Splits:
    """A typed frame split as Preprocess splits its files (in batches of `batch_rows`)."""
    table = pa.Table.from_pandas(
        frame[list(schema.columns)], schema=typed_schema(schema), preserve_index=False
    )
    batches = table.to_batches(max_chunksize=batch_rows or max(len(frame), 1))
    plan = plan_split(
        count_strata(strata(b, schema) for b in batches),
        validation_fraction=validation_fraction,
        test_fraction=test_fraction,
    )
    parts: dict[str, list[pa.RecordBatch]] = {name: [] for name in SPLITS}
    for name, rows in split_batches(batches, plan, schema, seed=seed):
        parts[name].append(rows)
    frames = [to_frame(pa.Table.from_batches(parts[n], schema=table.schema)) for n in SPLITS]
    return Splits(*frames)
