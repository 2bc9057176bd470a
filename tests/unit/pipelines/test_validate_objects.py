"""Bad data is isolated, not fatal: Validate judges each object on its own, names it (key and
version) in each violation, and the run goes on with the objects that passed."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.datasets import generate_churn
from pipelines.limits import ReadLimits
from pipelines.schema import DatasetSchema
from pipelines.steps.tabular import read_typed
from pipelines.steps.validate import ObjectRef, validate_objects

LIMITS = ReadLimits(block_bytes=1 << 16)


def _csv(path: Path, frame) -> Path:
    frame.to_csv(path, index=False)
    return path


def _labels_outside_classes(frame):
    frame["churned"] = frame["churned"].astype(str)
    frame.loc[3:5, "churned"] = "yes"
    return frame


def _nan_targets(frame):
    frame["churned"] = frame["churned"].astype(float)
    frame.loc[7:9, "churned"] = float("nan")
    return frame


def _write_ragged(path: Path, frame) -> Path:
    lines = frame.to_csv(index=False).split("\n")
    lines[40] += ",1,2"
    path.write_text("\n".join(lines))
    return path


BAD_OBJECTS = {
    "labels_outside_classes": (
        lambda p, f: _csv(p, _labels_outside_classes(f)),
        "values_outside_classes",
        "target churned: 3 value(s) outside the classes ['0', '1'], e.g. 'yes'",
    ),
    "nan_targets": (
        lambda p, f: _csv(p, _nan_targets(f)),
        "missing_target",
        "target churned: 3 missing value(s)",
    ),
    "ragged_rows": (_write_ragged, "ragged_rows", "1 row(s) without the header's 9 fields"),
}


@pytest.mark.parametrize("case", list(BAD_OBJECTS))
def test_one_bad_object_is_rejected_by_name_and_the_rest_is_accepted(tmp_path, churn_schema, case):
    write, reason, message = BAD_OBJECTS[case]
    good = _csv(tmp_path / "good.csv", generate_churn(700, seed=1))
    bad = write(tmp_path / "bad.csv", generate_churn(300, seed=2))
    report = validate_objects(
        [
            (ObjectRef("incoming/good.csv", "v-good"), good),
            (ObjectRef("incoming/bad.csv", "v-bad"), bad),
        ],
        churn_schema,
        LIMITS,
        tmp_path / "out",
    )
    assert report.passed, report.violations
    (rejected,) = report.rejected
    assert rejected.object == ObjectRef("incoming/bad.csv", "v-bad")
    assert rejected.reason() == reason
    assert any(
        m.startswith("incoming/bad.csv (version v-bad): ") and message in m
        for m in rejected.messages()
    ), rejected.messages()
    (accepted,) = report.accepted
    assert report.n_rows == accepted.rows == 700
    assert len(read_typed(accepted.output, churn_schema)) == 700
    assert not list((tmp_path / "out").glob("part-00001*")), "rejected rows are not passed on"


def _houses(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"rooms": rng.integers(1, 8, n), "area_m2": rng.uniform(20, 200, n).round(1)}
    )
    frame["price"] = (frame["area_m2"] * 3 + frame["rooms"] * 10).round(2)
    return frame


HOUSES = DatasetSchema(
    target="price",
    problem_type="regression",
    min_rows=100,
    features=[{"name": "rooms", "type": "numeric"}, {"name": "area_m2", "type": "numeric"}],
)


def test_a_non_numeric_regression_target_rejects_its_object(tmp_path):
    good = _csv(tmp_path / "good.csv", _houses(600, 1))
    bad_frame = _houses(200, 2).astype({"price": str})
    bad_frame.loc[0, "price"] = "unknown"
    bad = _csv(tmp_path / "bad.csv", bad_frame)
    report = validate_objects(
        [(ObjectRef("incoming/g.csv"), good), (ObjectRef("incoming/b.csv"), bad)],
        HOUSES,
        LIMITS,
        tmp_path / "out",
    )
    assert report.passed
    assert [v.object.key for v in report.rejected] == ["incoming/b.csv"]
    assert report.rejected[0].reason() == "non_numeric_target"
    assert report.violations == [
        "incoming/b.csv: target price: 1 non-numeric value(s), e.g. 'unknown'"
    ]


def test_all_objects_bad_fails_naming_every_one(tmp_path, churn_schema):
    first = _csv(tmp_path / "a.csv", _labels_outside_classes(generate_churn(300, seed=1)))
    second = _write_ragged(tmp_path / "b.csv", generate_churn(300, seed=2))
    report = validate_objects(
        [(ObjectRef("incoming/a.csv", "1"), first), (ObjectRef("incoming/b.csv", "2"), second)],
        churn_schema,
        LIMITS,
        tmp_path / "out",
    )
    assert not report.passed
    message = report.failure_message()
    assert "incoming/a.csv (version 1): target churned" in message
    assert "incoming/b.csv (version 2): 1 row(s) without the header's 9 fields" in message
    assert (
        "0 rows in 0 accepted object(s), fewer than the minimum of 200 (dataset.min_rows); "
        "rejected: incoming/a.csv (version 1), incoming/b.csv (version 2)" in message
    )


def test_too_few_rows_remaining_fails_the_run(tmp_path, churn_schema):
    small = _csv(tmp_path / "small.csv", generate_churn(150, seed=1))
    bad = _csv(tmp_path / "bad.csv", _nan_targets(generate_churn(300, seed=2)))
    report = validate_objects(
        [(ObjectRef("incoming/small.csv"), small), (ObjectRef("incoming/bad.csv"), bad)],
        churn_schema,
        LIMITS,
        tmp_path / "out",
    )
    assert not report.passed
    assert "150 rows in 1 accepted object(s), fewer than the minimum of 200" in (
        report.failure_message()
    )


def _hostile(tmp_path: Path, name: str) -> Path:
    clean = generate_churn(3000, seed=3).to_csv(index=False).encode()
    path = tmp_path / name
    if name == "truncated.csv.gz":
        path.write_bytes(gzip.compress(clean)[:-100])
    elif name == "bomb.csv.gz":
        path.write_bytes(gzip.compress(clean.split(b"\n", 1)[0] + b"\n" + b"1," * 8_000_000))
    elif name == "latin1.csv":
        cut = clean.index(b"\n", 66_000) + 1
        path.write_bytes(clean[:cut] + b"\xe9" + clean[cut:])
    elif name == "space.csv":
        path.write_bytes(clean.replace(b",region,", b",region ,", 1))
    return path


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("truncated.csv.gz", "gzip_truncated"),
        ("bomb.csv.gz", "decompression_ratio_exceeded"),
        ("latin1.csv", "not_utf8"),
        ("space.csv", "header_whitespace"),
    ],
)
def test_a_hostile_file_is_a_named_violation_of_its_object(tmp_path, churn_schema, name, reason):
    good = _csv(tmp_path / "good.csv", generate_churn(400, seed=1))
    report = validate_objects(
        [(ObjectRef(f"incoming/{name}"), _hostile(tmp_path, name)), (ObjectRef("g"), good)],
        churn_schema,
        LIMITS,
        tmp_path / "out",
    )
    assert report.passed
    (rejected,) = report.rejected
    assert rejected.object.key == f"incoming/{name}" and rejected.reason() == reason
    assert rejected.messages()[0].startswith(f"incoming/{name}: ")


def test_cr_only_line_endings_are_accepted(tmp_path, churn_schema):
    path = tmp_path / "mac.csv"
    text = generate_churn(400, seed=1).to_csv(index=False).encode()
    path.write_bytes(text.replace(b"\n", b"\r"))
    report = validate_objects(
        [(ObjectRef("incoming/mac.csv"), path)], churn_schema, LIMITS, tmp_path
    )
    assert report.passed and report.n_rows == 400


def test_parquet_with_the_right_types_is_accepted(tmp_path, churn_schema):
    path = tmp_path / "churn.parquet"
    generate_churn(400, seed=1).to_parquet(path)
    report = validate_objects(
        [(ObjectRef("incoming/c.parquet"), path)], churn_schema, LIMITS, tmp_path
    )
    assert report.passed and report.n_rows == 400
    typed = read_typed(report.accepted[0].output, churn_schema)
    assert typed["age"].dtype == float and set(typed["churned"]) == {"0", "1"}


def test_parquet_with_a_wrong_column_type_is_a_named_violation(tmp_path, churn_schema):
    frame = generate_churn(400, seed=1)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.set_column(
        table.schema.get_field_index("age"), "age", pa.array([str(v) for v in frame["age"]])
    )
    path = tmp_path / "typed.parquet"
    pq.write_table(table, path)
    report = validate_objects(
        [(ObjectRef("incoming/typed.parquet", "7"), path)], churn_schema, LIMITS, tmp_path
    )
    assert not report.passed
    (rejected,) = report.rejected
    assert rejected.reason() == "wrong_column_type"
    assert rejected.messages() == [
        "incoming/typed.parquet (version 7): column age: Parquet type string cannot hold a "
        "numeric feature (expected an integer, floating point or decimal type)"
    ]


def test_names_as_users_have_them_read_from_csv_and_parquet(tmp_path):
    schema = DatasetSchema(
        target="prix/m²",
        problem_type="regression",
        min_rows=50,
        features=[
            {"name": "mean radius", "type": "numeric"},
            {"name": "âge", "type": "categorical"},
        ],
    )
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "mean radius": rng.uniform(1, 9, 120).round(3),
            "âge": rng.choice(["jeune", "vieux"], 120),
            "prix/m²": rng.uniform(100, 900, 120).round(2),
        }
    )
    csv = _csv(tmp_path / "names.csv", frame)
    parquet = tmp_path / "names.parquet"
    frame.to_parquet(parquet)
    report = validate_objects(
        [(ObjectRef("incoming/n.csv"), csv), (ObjectRef("incoming/n.parquet"), parquet)],
        schema.model_copy(update={"max_duplicate_ratio": 0.5}),
        LIMITS,
        tmp_path / "out",
    )
    assert report.passed, report.violations
    assert [v.rows for v in report.accepted] == [120, 120]
