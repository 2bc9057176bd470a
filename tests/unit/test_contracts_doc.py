"""docs/contracts.md cannot drift from the models: its generated sections are rendered here from
the settings models, the metric table and the physical names, and must be what the file holds.
UPDATE_DOCS=1 rewrites them."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import get_origin

import pytest

from infra.contracts import FUNCTION_MODELS
from infra.names import (
    BUCKET_KINDS,
    CAPTURE_PREFIX,
    FUNCTIONS,
    GROUND_TRUTH_PREFIX,
    INCOMING_PREFIX,
    QUARANTINE_PREFIX,
    RULES,
    PhysicalNames,
)
from pipelines.metric_names import feature_token
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


# The names are shown for placeholders: the prefix and the retained suffix as the config's
# keys describe them, and a feature token that `feature_token` keeps as it is.
PREFIX, SUFFIX, FEATURE = "<prefix>", "<suffix>", "FEATURE"


def _names_rows(names: PhysicalNames) -> list[tuple[str, list[str]]]:
    kinds = "\\|".join(BUCKET_KINDS)  # a | inside a table cell is escaped
    return [
        ("training pipeline", [names.training_pipeline]),
        ("monitoring pipeline", [names.monitoring_pipeline]),
        ("model package group", [names.model_group]),
        ("buckets", [names.bucket(f"<{kinds}>", "<account>", "<region>")]),
        ("endpoint (never changes)", [names.endpoint]),
        ("functions", [names.function(f) for f in FUNCTIONS]),
        ("function log groups", [names.log_group(f) for f in FUNCTIONS]),
        (
            "EventBridge rules (table below; `retrain-schedule` only with `retrain.schedule`)",
            [names.rule(r) for r in RULES],
        ),
        (
            "state table, failure queue, topic",
            [names.state_table, names.failure_queue, names.topic],
        ),
        ("KMS key alias", [names.key_alias]),
        ("dashboard", [names.dashboard]),
        ("CloudWatch namespace of drift metrics", [names.drift_namespace]),
        ("CloudWatch namespace of function metrics", [names.functions_namespace]),
        ("drift alarms (retrain)", names.drift_alarms([FEATURE])),
        ("model-quality alarm (retrain)", [names.model_quality_alarm]),
        ("data-quality alarm (optional, notify only)", [names.data_quality_alarm]),
        ("rollback alarms", names.rollback_alarms),
        ("operations alarms (notify only)", names.operations_alarms()),
        ("pipeline and job execution role", [names.sagemaker_role]),
        ("model execution role (`MODEL_ROLE_ARN`)", [names.model_role]),
    ]


def physical_names() -> str:
    """Each name as PhysicalNames makes it; a name that takes the retained suffix is marked
    retained and shows the suffix as optional."""
    assert feature_token(FEATURE) == FEATURE
    plain = _names_rows(PhysicalNames(PREFIX))
    kept = _names_rows(PhysicalNames(PREFIX, retained_suffix=SUFFIX))
    rows = ["| what | name |", "|---|---|"]
    for (what, names), (_, kept_names) in zip(plain, kept, strict=True):
        shown = []
        for name, kept_name in zip(names, kept_names, strict=True):
            if kept_name != name:
                assert kept_name == f"{name}-{SUFFIX}", kept_name
                name = f"{name}[-{SUFFIX}]"
            shown.append(f"`{name.replace(FEATURE, '<feature token>')}`")
        retained = " (retained)" if kept_names != names else ""
        rows.append(f"| {what}{retained} | {', '.join(shown)} |")
    return "\n".join(rows)


def data_bucket() -> str:
    """The data bucket's prefixes (infra/names.py) and what lies under each."""
    layout = [
        ([f"{INCOMING_PREFIX}..."], "uploaded data; every `Object Created` here is an arrival"),
        (
            [
                f"{QUARANTINE_PREFIX}<original key>",
                f"{QUARANTINE_PREFIX}<original key>.reason.json",
            ],
            "rejected objects and the reason for each",
        ),
        (
            [f"{CAPTURE_PREFIX}<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl"],
            "endpoint data capture, written by SageMaker; read by the monitoring step, and by "
            "Validate with `retrain.labelled_traffic`",
        ),
        (
            [f"{GROUND_TRUTH_PREFIX}<endpoint>/yyyy/mm/dd/hh/*"],
            "labels users upload; read by the monitoring step, and by Validate with "
            "`retrain.labelled_traffic`",
        ),
    ]
    rows = ["| keys | what |", "|---|---|"]
    rows += [f"| {', '.join(f'`{k}`' for k in keys)} | {what} |" for keys, what in layout]
    return "\n".join(rows)


SECTIONS = {
    "lambda-environment": lambda_environment,
    "metrics": metrics,
    "physical-names": physical_names,
    "data-bucket": data_bucket,
}


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


def test_the_rules_table_has_one_row_per_rule_the_stack_names():
    """The rules table's patterns and targets are prose; its rows must still be the stack's
    rules (infra/names.py RULES), so a rule added or renamed there shows here."""
    section = DOC.read_text().split("## EventBridge rules", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")][2:]  # no header
    labels = [line.split("|")[1].strip() for line in table]
    documented = [label.removesuffix(" (optional)").replace(" ", "-") for label in labels]
    assert sorted(documented) == sorted(RULES)
