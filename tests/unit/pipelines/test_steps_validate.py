import pandas as pd
import pytest

from pipelines.steps.validate import validate_files, validate_frame


def test_valid_data_passes_and_is_typed(churn_raw, churn_schema):
    typed, report = validate_frame(churn_raw, churn_schema)
    assert report.passed, report.violations
    assert report.n_rows == 600
    assert typed["age"].dtype == float
    assert set(typed["churned"].unique()) <= {"0", "1"}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.drop(columns=["region"]), "missing column(s) region"),
        (lambda d: d.assign(age=["abc"] * 5 + list(d["age"][5:])), "column age: 5 non-numeric"),
        (
            lambda d: d.assign(tenure_months=[None] * 60 + list(d["tenure_months"][60:])),
            "column tenure_months: 10.0% missing values",
        ),
        (
            lambda d: d.assign(tenure_months=["-4"] + list(d["tenure_months"][1:])),
            "below the minimum 0 (smallest -4)",
        ),
        (
            lambda d: d.assign(monthly_charges=["900"] + list(d["monthly_charges"][1:])),
            "above the maximum 500 (largest 900)",
        ),
        (
            lambda d: d.assign(contract=["weekly"] * 3 + list(d["contract"][3:])),
            "column contract: 3 value(s) outside the categories",
        ),
        (
            lambda d: d.assign(churned=["2"] + list(d["churned"][1:])),
            "target churned: 1 value(s) outside the classes",
        ),
        (
            lambda d: d.assign(churned=[None] + list(d["churned"][1:])),
            "target churned: 1 missing value(s)",
        ),
        (lambda d: d.assign(churned="0"), "a single class ('0')"),
        (lambda d: d.head(150), "150 rows, fewer than the minimum of 200"),
        (lambda d: pd.concat([d, d.head(100)], ignore_index=True), "duplicate rows"),
    ],
)
def test_each_violation_is_named(churn_raw, churn_schema, mutate, expected):
    _, report = validate_frame(mutate(churn_raw.copy()), churn_schema)
    assert not report.passed
    assert any(expected in v for v in report.violations), report.violations
    assert expected.split(":")[0] in report.failure_message()


def test_all_violations_reported_together(churn_raw, churn_schema):
    bad = churn_raw.copy()
    bad.loc[0, "age"] = "old"
    bad.loc[1, "region"] = "mars"
    _, report = validate_frame(bad, churn_schema)
    assert len(report.violations) == 2


def test_files_missing_header_column_and_no_files(tmp_path, churn_raw, churn_schema):
    _, report = validate_files([], churn_schema)
    assert report.violations == ["no data files (.csv or .csv.gz) in the input"]
    path = tmp_path / "a.csv"
    churn_raw.drop(columns=["age"]).to_csv(path, index=False)
    _, report = validate_files([("s3://data/incoming/a.csv", path)], churn_schema)
    assert report.violations == ["file s3://data/incoming/a.csv: missing column(s) age"]
