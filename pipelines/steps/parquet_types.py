"""Parquet column types against the config: a column's Arrow type must be able to hold what the
config says the column is, or the object is rejected (`wrong_column_type`) before any row is read.
"""

from __future__ import annotations

import pyarrow as pa

from pipelines.schema import DatasetSchema


def parquet_type_problems(schema: pa.Schema, dataset: DatasetSchema) -> list[str]:
    """Column types that cannot hold what the config says the column is."""
    problems = []
    wanted = {f.name: f.type for f in dataset.features}
    wanted[dataset.target] = (
        "numeric" if dataset.problem_type == "regression" else "label"  # type: ignore[assignment]
    )
    for name, kind in wanted.items():
        if name not in schema.names:
            continue
        arrow_type = schema.field(name).type
        if not _holds(arrow_type, kind):
            problems.append(
                f"column {name}: Parquet type {arrow_type} cannot hold a {kind} "
                f"{'target' if name == dataset.target else 'feature'}"
                f" (expected {_EXPECTED[kind]})"
            )
    return problems


_EXPECTED = {
    "numeric": "an integer, floating point or decimal type",
    "categorical": "a string, dictionary, integer or boolean type",
    "label": "a string, dictionary, integer or boolean type",
}


def _holds(arrow_type: pa.DataType, kind: str) -> bool:
    t = pa.types
    if t.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if t.is_null(arrow_type):
        return True  # every value missing: the null ratio decides
    if kind == "numeric":
        return t.is_integer(arrow_type) or t.is_floating(arrow_type) or t.is_decimal(arrow_type)
    return (
        t.is_string(arrow_type)
        or t.is_large_string(arrow_type)
        or t.is_integer(arrow_type)
        or t.is_boolean(arrow_type)
    )
