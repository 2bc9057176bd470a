import pandas as pd
import pytest

from pipelines.limits import ReadLimits
from pipelines.steps.validate import ObjectRef, validate_frame, validate_objects


def test_valid_data_passes_and_is_typed(tmp_path, churn_raw, churn_schema):
    typed, report = validate_frame(churn_raw, churn_schema, tmp_path)
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
        (lambda d: d.head(150), "150 rows in 1 accepted object(s), fewer than the minimum of 200"),
        (lambda d: pd.concat([d, d.head(100)], ignore_index=True), "duplicate rows"),
    ],
)
def test_each_violation_is_named(tmp_path, churn_raw, churn_schema, mutate, expected):
    _, report = validate_frame(mutate(churn_raw.copy()), churn_schema, tmp_path)
    assert not report.passed
    assert any(expected in v for v in report.violations), report.violations
    assert expected.split(":")[0] in report.failure_message()


def test_all_violations_reported_together(tmp_path, churn_raw, churn_schema):
    bad = churn_raw.copy()
    bad.loc[0, "age"] = "old"
    bad.loc[1, "region"] = "mars"
    _, report = validate_frame(bad, churn_schema, tmp_path)
    (verdict,) = report.objects
    assert [v.reason for v in verdict.violations] == [
        "non_numeric_values",
        "values_outside_categories",
    ]


def test_no_objects_and_a_missing_header_column(tmp_path, churn_raw, churn_schema):
    report = validate_objects([], churn_schema, ReadLimits(), tmp_path / "out")
    assert report.violations == ["no data objects (.csv, .csv.gz or .parquet) in the input"]
    path = tmp_path / "a.csv"
    churn_raw.drop(columns=["age"]).to_csv(path, index=False)
    report = validate_objects(
        [(ObjectRef("incoming/a.csv"), path)], churn_schema, ReadLimits(), tmp_path / "out"
    )
    assert report.violations[0] == "incoming/a.csv: missing column(s) age"
