"""Preprocess splits in batches: sizes and class shares as a whole-frame stratified split would
give them, the same for a seed, the rows read and written a batch at a time."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.datasets import generate_churn
from pipelines.entrypoints import preprocess as entry
from pipelines.limits import ReadLimits
from pipelines.schema import DatasetSchema
from pipelines.steps.preprocess import StreamingSplit, plan_split, split_frame
from pipelines.steps.reader import open_batches
from pipelines.steps.tabular import read_typed, to_typed, typed_schema

BATCH = 64


@pytest.fixture()
def parts(tmp_path, churn_schema):
    """3000 typed rows as Validate writes them: several part-<n>.parquet files, the rare class
    (churned = 1) in about one row in five."""
    frame = to_typed(generate_churn(3000, seed=11).astype(str).replace("nan", None), churn_schema)
    root = tmp_path / "validated"
    root.mkdir()
    for n, start in enumerate(range(0, 3000, 700)):
        table = pa.Table.from_pandas(
            frame.iloc[start : start + 700], schema=typed_schema(churn_schema), preserve_index=False
        )
        pq.write_table(table, root / f"part-{n}.parquet")
    return root, frame


def _split(root, out, schema, seed):
    return entry.write_splits(
        root,
        out,
        schema,
        seed=seed,
        validation_fraction=0.15,
        test_fraction=0.15,
        limits=ReadLimits(parquet_batch_rows=BATCH),
    )


def _key(frame: pd.DataFrame) -> list[int]:
    return pd.util.hash_pandas_object(frame, index=False).tolist()


def test_multi_part_input_keeps_the_class_shares_in_every_split(tmp_path, parts, churn_schema):
    root, frame = parts
    rows = _split(root, tmp_path / "out", churn_schema, seed=3)
    assert rows == {"train": 2100, "validation": 450, "test": 450}
    read = {name: read_typed(tmp_path / "out" / name, churn_schema) for name in rows}
    target = churn_schema.target
    for name, fraction in (("train", 0.70), ("validation", 0.15), ("test", 0.15)):
        assert len(read[name]) == rows[name]
        for label, count in frame[target].value_counts().items():
            in_split = (read[name][target] == label).sum()
            assert abs(in_split - fraction * count) <= 1, (name, label, in_split, count)
    # Nothing lost, nothing twice: the three splits are the input's rows.
    together = pd.concat(read.values(), ignore_index=True)
    assert sorted(_key(together)) == sorted(_key(frame))


def test_the_split_is_the_same_for_a_seed_and_differs_for_another(tmp_path, parts, churn_schema):
    root, _ = parts
    for folder, seed in (("a", 3), ("b", 3), ("c", 4)):
        _split(root, tmp_path / folder, churn_schema, seed)
    a, b, c = (pq.read_table(tmp_path / f / "test" / "test.parquet") for f in "abc")
    assert a.equals(b)
    assert not a.equals(c)


def test_rows_are_read_and_written_a_batch_at_a_time(tmp_path, parts, churn_schema, monkeypatch):
    root, _ = parts
    seen = []
    dealt = entry.split_batches

    def watched(batches, *args, **kwargs):
        def each():
            for batch in batches:
                seen.append(len(batch))
                yield batch

        return dealt(each(), *args, **kwargs)

    monkeypatch.setattr(entry, "split_batches", watched)
    _split(root, tmp_path / "out", churn_schema, seed=3)
    # Every row passed through, never more than one batch's worth at once...
    assert sum(seen) == 3000 and max(seen) <= BATCH
    # ...and each split was appended to as the batches came, not written at the end.
    assert pq.ParquetFile(tmp_path / "out" / "train" / "train.parquet").num_row_groups > 1


def test_split_frame_sizes_and_shares_hold_in_any_batch_size(churn_schema):
    frame = to_typed(generate_churn(1000, seed=2).astype(str).replace("nan", None), churn_schema)
    whole = split_frame(frame, churn_schema, seed=4)
    batched = split_frame(frame, churn_schema, seed=4, batch_rows=37)
    for splits in (whole, batched):
        assert (len(splits.train), len(splits.validation), len(splits.test)) == (700, 150, 150)
        counts = frame[churn_schema.target].value_counts()
        for part, fraction in ((splits.validation, 0.15), (splits.test, 0.15)):
            shares = part[churn_schema.target].value_counts()
            assert all(abs(shares.get(c, 0) - fraction * n) <= 1 for c, n in counts.items())


def test_a_class_too_rare_for_every_split_still_reaches_train():
    plan = plan_split({"common": 97, "rare": 3}, validation_fraction=0.15, test_fraction=0.15)
    assert sum(row[1] for row in plan.values()) == 15 and sum(row[2] for row in plan.values()) == 15
    assert plan["rare"][0] >= 1 and sum(plan["rare"]) == 3
    single = plan_split({"a": 50, "b": 1}, validation_fraction=0.15, test_fraction=0.15)
    assert single["b"] == [1, 0, 0]


def test_regression_is_one_stratum_with_the_same_sizes():
    schema = DatasetSchema(
        target="price",
        problem_type="regression",
        min_rows=10,
        features=[{"name": "size", "type": "numeric"}],
    )
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.uniform(0, 1, 200), "price": rng.uniform(0, 1, 200)})
    splits = split_frame(frame, schema, seed=0, batch_rows=16)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (140, 30, 30)


def test_rows_beyond_the_plan_are_refused_naming_the_class(churn_schema):
    dealer = StreamingSplit({"0": [1, 0, 0]}, churn_schema, seed=0)
    batch = pa.RecordBatch.from_pydict({churn_schema.target: ["0", "0"]})
    with pytest.raises(ValueError, match="'0' has more rows than were counted"):
        dealer.assign(batch)


def test_fractions_out_of_range_are_named():
    with pytest.raises(ValueError, match="0.6 \\+ 0.5"):
        plan_split({"a": 10}, validation_fraction=0.6, test_fraction=0.5)


def _held_while_reading(path, row_groups: int) -> int:
    """Arrow's bytes in use at most while a file of `row_groups` x 2000 rows is read."""
    rng = np.random.default_rng(0)
    with pq.ParquetWriter(path, pa.schema([(f"x{i}", pa.float64()) for i in range(8)])) as out:
        for _ in range(row_groups):
            out.write_table(pa.table({f"x{i}": rng.normal(size=2000) for i in range(8)}))
    start, most = pa.total_allocated_bytes(), 0
    with open_batches(path, ReadLimits(parquet_batch_rows=2000)) as opened:
        for batch in opened.batches:
            assert len(batch) <= 2000
            most = max(most, pa.total_allocated_bytes() - start)
    return most


def test_the_memory_of_a_read_does_not_grow_with_the_rows(tmp_path):
    # Arrow's own allocation count, not the process's RSS: it is exact, so this cannot flake.
    # Reading ahead of the batches (Parquet pre-buffering) made it grow with the row groups.
    short = _held_while_reading(tmp_path / "short.parquet", 10)
    long = _held_while_reading(tmp_path / "long.parquet", 80)
    assert long <= short, f"{long} bytes held for 160,000 rows, {short} for 20,000"
