"""cdk-nag and cfn-lint over the synthesized templates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks


def test_cdk_nag_reports_no_unacknowledged_finding(dev):
    # The synth in the fixture would have raised on any finding; the report says so too.
    report = (
        json.loads((dev.outdir / "validation-report.json").read_text())
        if (dev.outdir / "validation-report.json").exists()
        else {"pluginReports": []}
    )
    violations = [
        v
        for p in report["pluginReports"]
        for v in p.get("violations", [])
        if v.get("severity") == "error"
    ]
    assert violations == []


def test_every_acknowledgment_names_its_finding_and_reason_in_the_template(dev):
    acknowledged = {
        logical_id: resource["Metadata"]["cdk_nag"]["rules_to_suppress"]
        for logical_id, resource in dev.raw["Resources"].items()
        if "cdk_nag" in resource.get("Metadata", {})
    }
    assert acknowledged, "expected the reasoned acknowledgments in the template"
    for logical_id, rules in acknowledged.items():
        for rule in rules:
            if not rule["id"].startswith("AwsSolutions-"):
                continue  # CDK's own template-validation notes, not our acknowledgments
            assert len(rule["reason"]) > 30, (logical_id, rule)
            # IAM findings are acknowledged one by one, never as a blanket rule.
            if rule["id"].startswith(("AwsSolutions-IAM4", "AwsSolutions-IAM5")):
                assert "[" in rule["id"], (logical_id, rule)


def test_cdk_nag_fails_synth_on_an_unacknowledged_wildcard(tmp_path):
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Probe")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match="[Vv]alidation"):
        app.synth()


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cfn_lint_finds_no_error(stage, request):
    synthesized = request.getfixturevalue(stage)
    templates = sorted(str(p) for p in synthesized.outdir.glob("*.template.json"))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ":E" in line]
    assert not errors, "\n".join(errors)
    assert result.returncode in (0, 4, 8, 12), result.stderr  # warnings/info only
