"""The quality gate: data that breaks the schema never reaches training.

Every check runs and every violation is reported (not only the first), each message naming the
column and what is wrong, so whoever fixes the data fixes it in one go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.schema import DatasetSchema
from pipelines.steps.tabular import read_headers, read_raw, to_typed

# How many offending values a message quotes.
_EXAMPLES = 3


@dataclass
class ValidationReport:
    passed: bool
    n_rows: int
    files: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def failure_message(self) -> str:
        return f"{len(self.violations)} data violation(s): " + "; ".join(self.violations)


def validate_files(
    files: Sequence[tuple[str, Path]], schema: DatasetSchema
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read and check the objects, each given as (its name, its local copy); the typed frame is
    only meaningful when the report passed."""
    names = [name for name, _ in files]
    paths = [path for _, path in files]
    if not files:
        report = ValidationReport(False, 0, names, ["no data files (.csv or .csv.gz) in the input"])
        return pd.DataFrame(columns=list(schema.columns)), report
    header_violations = []
    headers = read_headers(paths)
    for name, path in files:
        missing = [c for c in schema.columns if c not in headers[path]]
        if missing:
            header_violations.append(f"file {name}: missing column(s) {', '.join(missing)}")
    if header_violations:
        return pd.DataFrame(columns=list(schema.columns)), ValidationReport(
            False, 0, names, header_violations
        )
    typed, report = validate_frame(read_raw(paths), schema)
    report.files = names
    return typed, report


def validate_frame(
    raw: pd.DataFrame, schema: DatasetSchema
) -> tuple[pd.DataFrame, ValidationReport]:
    """Check a frame of text values (as read from CSV) against the schema."""
    missing = [c for c in schema.columns if c not in raw.columns]
    if missing:
        violation = f"missing column(s) {', '.join(missing)}"
        return pd.DataFrame(columns=list(schema.columns)), ValidationReport(
            False, len(raw), violations=[violation]
        )
    extra = [c for c in raw.columns if c not in schema.columns]
    warnings = [f"extra column(s) ignored: {', '.join(map(str, extra))}"] if extra else []
    typed = to_typed(raw, schema)
    violations: list[str] = []
    n = len(typed)

    if n < schema.min_rows:
        violations.append(f"{n} rows, fewer than the minimum of {schema.min_rows}")
    for feature in schema.features:
        name = feature.name
        raw_col, col = raw[name], typed[name]
        if feature.type == "numeric":
            bad = raw_col[raw_col.notna() & col.isna()]
            if len(bad):
                violations.append(
                    f"column {name}: {len(bad)} non-numeric value(s), e.g. {_examples(bad)}"
                )
        null_ratio = float(raw_col.isna().mean()) if n else 0.0
        if null_ratio > feature.max_null_ratio:
            violations.append(
                f"column {name}: {null_ratio:.1%} missing values, more than the allowed "
                f"{feature.max_null_ratio:.1%}"
            )
        if feature.min is not None and (col < feature.min).any():
            low = col[col < feature.min]
            violations.append(
                f"column {name}: {len(low)} value(s) below the minimum {feature.min:g} "
                f"(smallest {low.min():g})"
            )
        if feature.max is not None and (col > feature.max).any():
            high = col[col > feature.max]
            violations.append(
                f"column {name}: {len(high)} value(s) above the maximum {feature.max:g} "
                f"(largest {high.max():g})"
            )
        if feature.categories is not None:
            unknown = col[col.notna() & ~col.isin(feature.categories)]
            if len(unknown):
                violations.append(
                    f"column {name}: {len(unknown)} value(s) outside the categories "
                    f"{list(feature.categories)}, e.g. {_examples(unknown)}"
                )
    violations.extend(_target_violations(raw[schema.target], typed[schema.target], schema))
    if n:
        duplicate_ratio = float(typed.duplicated().mean())
        if duplicate_ratio > schema.max_duplicate_ratio:
            violations.append(
                f"{duplicate_ratio:.1%} duplicate rows, more than the allowed "
                f"{schema.max_duplicate_ratio:.1%}"
            )
    report = ValidationReport(not violations, n, violations=violations, warnings=warnings)
    return typed, report


def _target_violations(raw: pd.Series, typed: pd.Series, schema: DatasetSchema) -> list[str]:
    name = schema.target
    out = []
    if raw.isna().any():
        out.append(f"target {name}: {int(raw.isna().sum())} missing value(s)")
    if schema.problem_type == "regression":
        bad = raw[raw.notna() & typed.isna()]
        if len(bad):
            out.append(f"target {name}: {len(bad)} non-numeric value(s), e.g. {_examples(bad)}")
        return out
    present = typed.dropna()
    if schema.classes is not None:
        unknown = present[~present.isin(schema.classes)]
        if len(unknown):
            out.append(
                f"target {name}: {len(unknown)} value(s) outside the classes "
                f"{list(schema.classes)}, e.g. {_examples(unknown)}"
            )
    if present.nunique() < 2 and len(present):
        out.append(f"target {name}: a single class ({present.iloc[0]!r}), nothing to learn")
    return out


def _examples(values: pd.Series) -> str:
    uniq = list(dict.fromkeys(str(v) for v in values.tolist()))[:_EXAMPLES]
    return ", ".join(repr(v) for v in uniq)
