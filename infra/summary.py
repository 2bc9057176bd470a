"""What a deploy would create, read from the synthesized templates.

python -m infra.summary cdk.out
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def load_templates(cdk_out: Path) -> dict[str, dict[str, Any]]:
    templates = {
        p.name.removesuffix(".template.json"): json.loads(p.read_text())
        for p in sorted(cdk_out.glob("*.template.json"))
    }
    if not templates:
        raise FileNotFoundError(f"no *.template.json in {cdk_out}: run `make synth` first")
    return templates


def resource_counts(template: dict[str, Any]) -> Counter[str]:
    return Counter(r["Type"] for r in template.get("Resources", {}).values())


def _describe_target(arn: Any, resources: dict[str, Any]) -> str:
    """Name the resource a rule target points at, from its ARN intrinsic."""
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        logical_id = arn["Fn::GetAtt"][0]
        props = resources.get(logical_id, {}).get("Properties", {})
        return f"Lambda {props.get('FunctionName', logical_id)}"
    if isinstance(arn, dict) and "Fn::Join" in arn:
        text = "".join(p if isinstance(p, str) else "" for p in arn["Fn::Join"][1])
        if ":pipeline/" in text:
            return f"SageMaker pipeline {text.split(':pipeline/')[-1]}"
        return text
    return str(arn)


def _describe_trigger(props: dict[str, Any]) -> str:
    if "ScheduleExpression" in props:
        return props["ScheduleExpression"]
    pattern = props.get("EventPattern", {})
    detail_type = ", ".join(pattern.get("detail-type", []))
    return f"{', '.join(pattern.get('source', []))} / {detail_type}"


def rules(template: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    resources = template.get("Resources", {})
    found = []
    for resource in resources.values():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        props = resource["Properties"]
        targets = [_describe_target(t["Arn"], resources) for t in props.get("Targets", [])]
        found.append((props.get("Name", "?"), _describe_trigger(props), targets))
    return sorted(found)


def _describe_step(step: dict[str, Any]) -> str:
    if step["Type"] != "Condition":
        return f"{step['Name']} ({step['Type']})"
    arguments = step.get("Arguments", {})
    then = ", ".join(s["Name"] for s in arguments.get("IfSteps", [])) or "-"
    otherwise = ", ".join(s["Name"] for s in arguments.get("ElseSteps", [])) or "-"
    return f"{step['Name']} (Condition: then {then}, else {otherwise})"


def pipelines(template: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Each SageMaker pipeline with its steps, read from the embedded definition."""
    found = []
    for resource in template.get("Resources", {}).values():
        if resource["Type"] != "AWS::SageMaker::Pipeline":
            continue
        props = resource["Properties"]
        body = props["PipelineDefinition"]["PipelineDefinitionBody"]
        text = body["Fn::Sub"][0] if isinstance(body, dict) else body
        steps = [_describe_step(s) for s in json.loads(text).get("Steps", [])]
        found.append((props["PipelineName"], steps))
    return sorted(found)


def render(templates: dict[str, dict[str, Any]]) -> str:
    lines: list[str] = []
    for stack, template in templates.items():
        counts = resource_counts(template)
        lines.append(f"Stack {stack}: {sum(counts.values())} resources")
        lines.append("")
        lines.append("Resources by type:")
        lines.extend(f"  {count:3d}  {kind}" for kind, count in sorted(counts.items()))
        lines.append("")
        lines.append("Event rules (what reacts to what):")
        for name, trigger, targets in rules(template):
            lines.append(f"  {name}")
            lines.append(f"      on   {trigger}")
            lines.extend(f"      ->   {target}" for target in targets)
        lines.append("")
        lines.append("SageMaker pipelines:")
        for name, steps in pipelines(template):
            lines.append(f"  {name}: {' -> '.join(steps)}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    cdk_out = Path(argv[0] if argv else "cdk.out")
    try:
        print(render(load_templates(cdk_out)))
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
