"""Deploy a synthesized template: moto's CloudFormation for the types it supports, the runtime's
own resource types (`emulator.resource_types`) for the rest, in the template's dependency order.

CloudFormation creates a resource once everything it references exists. The deployer does the
same in waves: every pending resource of a type moto's CloudFormation supports whose references
can be met goes into one stack update (moto resolves references between them itself); then every
pending runtime type whose references are met is created through the AWS API. References from a
wave to resources the runtime created are replaced by their values; `Fn::GetAtt` values of moto's
resources come back as stack outputs. Physical names are whatever the template and CloudFormation
make of them: nothing is guessed. A type nobody supports is reported by name and stops the
deploy, never skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from emulator.intrinsics import Resolver
from emulator.resource_types import (
    IGNORED_TYPES,
    RUNTIME_TYPES,
    SUPPLEMENTS,
    Context,
)
from emulator.template_graph import dependencies, references, substitute

# What `cdk bootstrap` leaves in an account that a CDK template reads at deploy time.
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
BOOTSTRAP_VERSION = "21"


class DeployError(RuntimeError):
    """The template cannot be deployed locally; the message names every resource at fault."""


@dataclass
class Deployment:
    stack_name: str
    template: dict[str, Any]
    physical_ids: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    by_moto: list[str] = field(default_factory=list)  # logical ids moto's CloudFormation made
    by_runtime: list[str] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (logical id, reason)
    unsupported: list[str] = field(default_factory=list)  # "<id> (<type>): <what>"

    def of_type(self, kind: str) -> dict[str, str]:
        """Logical id -> physical id of every deployed resource of one type."""
        resources = self.template["Resources"]
        return {k: v for k, v in self.physical_ids.items() if resources[k]["Type"] == kind}


def _moto_types() -> set[str]:
    from moto.cloudformation.parsing import get_model_map

    return set(get_model_map())


class _Deployer:
    def __init__(self, template: dict[str, Any], cloud: Any, stack_name: str) -> None:
        self.template = template
        self.cloud = cloud
        self.resources: dict[str, Any] = template.get("Resources", {})
        self.out = Deployment(stack_name, template)
        self.resolver = Resolver(
            template,
            account=cloud.account,
            region=cloud.region,
            physical_ids=self.out.physical_ids,
            attributes=self.out.attributes,
            stack_name=stack_name,
            strict=True,
        )
        self.ctx = Context(client=cloud.client, account=cloud.account, region=cloud.region)
        self.deps = dependencies(template)
        # Every attribute some resource reads: moto's are brought back as stack outputs.
        self.attributes_read: dict[str, set[str]] = {}
        for resource in self.resources.values():
            for logical, attribute in references(resource):
                if attribute:
                    self.attributes_read.setdefault(logical, set()).add(attribute)
        self.stack_body: dict[str, Any] = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": {},
            "Outputs": {},
        }
        for section in ("Parameters", "Mappings", "Conditions"):
            if section in template:
                self.stack_body[section] = template[section]
        self.stack_exists = False

    def run(self) -> Deployment:
        moto_types = _moto_types()
        pending: set[str] = set()
        for logical, resource in self.resources.items():
            kind = resource["Type"]
            if kind in IGNORED_TYPES:
                self.out.ignored.append((logical, IGNORED_TYPES[kind]))
            elif "Condition" in resource:
                self.out.unsupported.append(f"{logical} ({kind}): resource Condition")
            elif kind in RUNTIME_TYPES or kind in moto_types:
                pending.add(logical)
            else:
                self.out.unsupported.append(f"{logical} ({kind}): resource type")
        ignored = {logical for logical, _ in self.out.ignored}
        for logical in pending:
            self.deps[logical] -= ignored
        if self.out.unsupported:
            raise DeployError("cannot deploy locally: " + "; ".join(self.out.unsupported))
        self._bootstrap()
        while pending:
            done = set(self.out.physical_ids)
            wave = self._moto_wave(pending, done)
            if wave:
                self._deploy_moto(wave)
                pending -= wave
            made = self._runtime_wave(pending)
            pending -= made
            if not wave and not made:
                stuck = ", ".join(
                    f"{k} (needs {', '.join(sorted(self.deps[k] - set(self.out.physical_ids)))})"
                    for k in sorted(pending)
                )
                raise DeployError(f"cannot order these resources: {stuck}")
        return self.out

    def _bootstrap(self) -> None:
        parameters = self.template.get("Parameters", {})
        if any(p.get("Default") == BOOTSTRAP_VERSION_PARAMETER for p in parameters.values()):
            self.cloud.client("ssm").put_parameter(
                Name=BOOTSTRAP_VERSION_PARAMETER,
                Value=BOOTSTRAP_VERSION,
                Type="String",
                Overwrite=True,
            )

    def _is_runtime(self, logical: str) -> bool:
        return self.resources[logical]["Type"] in RUNTIME_TYPES

    def _moto_wave(self, pending: set[str], done: set[str]) -> set[str]:
        wave = {k for k in pending if not self._is_runtime(k)}
        changed = True
        while changed:
            changed = False
            for logical in list(wave):
                if not self.deps[logical] <= done | wave:
                    wave.discard(logical)
                    changed = True
        return wave

    def _runtime_wave(self, pending: set[str]) -> set[str]:
        made: set[str] = set()
        progress = True
        while progress:
            progress = False
            for logical in sorted(pending - made):
                if self._is_runtime(logical) and self.deps[logical] <= set(self.out.physical_ids):
                    self._create_runtime(logical)
                    made.add(logical)
                    progress = True
        return made

    # -- moto's CloudFormation -------------------------------------------------------------

    def _deploy_moto(self, wave: set[str]) -> None:
        runtime_made = {k for k in self.out.by_runtime}

        def known(logical: str) -> bool:
            return logical in runtime_made

        def lookup(logical: str, attribute: str | None) -> str:
            if attribute is None:
                return self.out.physical_ids[logical]
            return self._attribute(logical, attribute)

        outputs: dict[str, tuple[str, str]] = {}
        for logical in sorted(wave):
            resource = dict(self.resources[logical])
            depends = resource.get("DependsOn")
            if depends is not None:
                depends = [depends] if isinstance(depends, str) else depends
                kept = [d for d in depends if d not in runtime_made and d in self.resources]
                kept = [d for d in kept if self.resources[d]["Type"] not in IGNORED_TYPES]
                resource["DependsOn"] = kept
                if not kept:
                    resource.pop("DependsOn")
            self.stack_body["Resources"][logical] = substitute(resource, known, lookup)
            for attribute in sorted(self.attributes_read.get(logical, ())):
                key = _output_key(logical, attribute)
                outputs[key] = (logical, attribute)
                self.stack_body["Outputs"][key] = {"Value": {"Fn::GetAtt": [logical, attribute]}}
        cfn = self.cloud.client("cloudformation")
        body = json.dumps(self.stack_body)
        capabilities = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
        name = self.out.stack_name
        if self.stack_exists:
            cfn.update_stack(StackName=name, TemplateBody=body, Capabilities=capabilities)
        else:
            cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=capabilities)
            self.stack_exists = True
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
            raise DeployError(
                f"stack {name}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}"
            )
        for resource in cfn.describe_stack_resources(StackName=name)["StackResources"]:
            if resource["LogicalResourceId"] in wave:
                # moto gives some types (Lambda::Permission) no physical id; nothing refers to them.
                logical = resource["LogicalResourceId"]
                self.out.physical_ids[logical] = resource.get("PhysicalResourceId", logical)
        missing = sorted(wave - set(self.out.physical_ids))
        if missing:
            raise DeployError(f"moto's CloudFormation did not create {', '.join(missing)}")
        for output in stack.get("Outputs", []):
            if output["OutputKey"] in outputs:
                self.out.attributes[outputs[output["OutputKey"]]] = output["OutputValue"]
        for logical in _topological(wave, self.deps):
            self.out.by_moto.append(logical)
            kind = self.resources[logical]["Type"]
            if kind in SUPPLEMENTS:
                props = self.resolver.resolve(self.resources[logical].get("Properties", {}))
                for what in SUPPLEMENTS[kind](self.out.physical_ids[logical], props, self.ctx):
                    self.out.unsupported.append(f"{logical} ({kind}): {what}")
        if self.out.unsupported:
            raise DeployError("cannot deploy locally: " + "; ".join(self.out.unsupported))

    def _attribute(self, logical: str, attribute: str) -> str:
        if (logical, attribute) not in self.out.attributes:
            kind = self.resources[logical]["Type"]
            raise DeployError(f"{logical} ({kind}) has no attribute {attribute} locally")
        return self.out.attributes[(logical, attribute)]

    # -- the runtime's own types -----------------------------------------------------------

    def _create_runtime(self, logical: str) -> None:
        resource = self.resources[logical]
        kind = resource["Type"]
        props = self.resolver.resolve(resource.get("Properties", {}))
        try:
            created = RUNTIME_TYPES[kind](logical, props, self.ctx)
        except Exception as exc:  # noqa: BLE001 - the AWS error names the problem
            raise DeployError(f"{logical} ({kind}): {type(exc).__name__}: {exc}") from exc
        self.out.physical_ids[logical] = created.ref
        for attribute, value in created.attributes.items():
            self.out.attributes[(logical, attribute)] = value
        self.out.by_runtime.append(logical)


def _output_key(logical: str, attribute: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", f"{logical}{attribute}")


def _topological(subset: set[str], deps: dict[str, set[str]]) -> list[str]:
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(node: str) -> None:
        if node in seen:
            return
        seen.add(node)
        for dep in sorted(deps.get(node, ())):
            if dep in subset:
                visit(dep)
        ordered.append(node)

    for node in sorted(subset):
        visit(node)
    return ordered


def deploy(template: dict[str, Any], cloud: Any, *, stack_name: str) -> Deployment:
    """Create every resource of `template` in `cloud` (a started LocalCloud) as stack
    `stack_name`; raise DeployError naming what cannot be deployed."""
    return _Deployer(template, cloud, stack_name).run()
