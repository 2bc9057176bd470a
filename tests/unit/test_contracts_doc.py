"""docs/contracts.md cannot drift from the models: its generated sections are rendered here from
the settings models and the metric table, and must be what the file holds.
UPDATE_DOCS=1 rewrites them."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import get_origin

import pytest

from infra.contracts import FUNCTION_MODELS
from pipelines.metrics import METRICS

DOC = Path(__file__).resolve().parents[2] / "docs" / "contracts.md"


def _variable(model, name: str) -> str:
    field = model.model_fields[name]
    kind = get_origin(field.annotation) or field.annotation
    text = f"`{field.alias}`"
    if kind is tuple or "tuple" in str(field.annotation):
        text += " (JSON list)"
    elif field.annotation is bool:
        text += " (`true`/`false`)"
    return text


def lambda_environment() -> str:
    rows = ["| function | set by the stack | tunable, not set (default) |", "|---|---|---|"]
    for function, model in FUNCTION_MODELS.items():
        fields = model.model_fields
        tunable = set(model.variables(tunable=True))
        set_ = [_variable(model, n) for n, f in fields.items() if f.alias not in tunable]
        free = [f"`{f.alias}` ({f.default})" for f in fields.values() if f.alias in tunable]
        rows.append(f"| `{function}` | {', '.join(set_)} | {', '.join(free) or '—'} |")
    return "\n".join(rows)


def metrics() -> str:
    rows = ["| problem | metric | better |", "|---|---|---|"]
    for problem, table in METRICS.items():
        for metric, higher in table.items():
            rows.append(f"| {problem} | `{metric}` | {'higher' if higher else 'lower'} |")
    return "\n".join(rows)


SECTIONS = {"lambda-environment": lambda_environment, "metrics": metrics}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated: {name} -->\n)(.*?)(\n<!-- end: {name} -->)", re.DOTALL)


@pytest.mark.parametrize("name", SECTIONS)
def test_generated_section_matches_the_models(name):
    text = DOC.read_text()
    match = _pattern(name).search(text)
    assert match, f"docs/contracts.md has no generated section {name!r}"
    rendered = SECTIONS[name]()
    if os.environ.get("UPDATE_DOCS") == "1":
        DOC.write_text(_pattern(name).sub(lambda m: m[1] + rendered + m[3], text))
    assert match[2] == rendered
