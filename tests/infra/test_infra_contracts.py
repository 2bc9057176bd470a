"""Each function's environment is its settings model, both ways: the stack sets every variable
the handler reads (but the tunable ones, which have defaults) and nothing it does not read; the
fixtures and the benchmark get the same values for the same account."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from emulator.intrinsics import Resolver
from infra.contracts import FUNCTION_MODELS, settings_in_account
from infra.names import FUNCTIONS

REPO = Path(__file__).resolve().parents[2]
ACCOUNT, REGION = "123456789012", "us-east-1"  # the account dev.resolved() resolves in


def _environment(stage, name: str) -> dict:
    wanted = stage.config.names.function(name)
    for resource in stage.resources("AWS::Lambda::Function").values():
        if resource["Properties"]["FunctionName"] == wanted:
            return resource["Properties"]["Environment"]["Variables"]
    raise AssertionError(f"no function {wanted}")


def _models_read(package: Path) -> set[str]:
    """The settings models the function's code loads (`settings_for(M)`, `load_settings(M)`)."""
    read = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None))
                in ("settings_for", "load_settings")
                and node.args
                and isinstance(node.args[0], ast.Name)
            ):
                read.add(node.args[0].id)
    return read


@pytest.mark.parametrize("name", FUNCTIONS)
def test_handler_reads_the_model_the_stack_writes(name):
    assert _models_read(REPO / "functions" / name) == {FUNCTION_MODELS[name].__name__}


def test_functions_read_the_environment_only_through_their_settings():
    readers = [
        str(path.relative_to(REPO))
        for path in (REPO / "functions").rglob("*.py")
        if path.name != "settings.py"
        and any(call in path.read_text() for call in ("os.environ", "os.getenv", "getenv("))
    ]
    assert readers == []


@pytest.mark.parametrize("stage_name", ["dev", "prod", "widest"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_stack_sets_exactly_the_variables_the_handler_reads(request, stage_name, name):
    stage = request.getfixturevalue(stage_name)
    model = FUNCTION_MODELS[name]
    produced = set(_environment(stage, name))
    assert produced == set(model.variables(tunable=False)), (
        f"{name}: not read {sorted(produced - set(model.variables()))}, "
        f"not set {sorted(set(model.variables(tunable=False)) - produced)}"
    )
    assert not produced & set(model.variables(tunable=True))


def _resolver(stage) -> Resolver:
    """CloudFormation's values in the test account. A topic's Ref is its ARN (AWS::SNS::Topic,
    "Return values", https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/
    aws-resource-sns-topic.html); the template resolver alone would give its name."""
    resolver = Resolver(stage.raw, account=ACCOUNT, region=REGION)
    for logical_id in stage.resources("AWS::SNS::Topic"):
        resolver.physical_ids[logical_id] = resolver.resolve(
            {"Fn::GetAtt": [logical_id, "TopicArn"]}
        )
    return resolver


@pytest.mark.parametrize("name", FUNCTIONS)
def test_deployed_environment_reads_back_as_the_settings_the_fixtures_use(dev, name):
    deployed = _resolver(dev).resolve(_environment(dev, name))
    expected = settings_in_account(dev.config, account=ACCOUNT, region=REGION)[name].to_env()
    # The key's id is CloudFormation's to pick; everything else is the config's or a name.
    for env in (deployed, expected):
        if "CAPTURE_KMS_KEY_ARN" in env:
            env["CAPTURE_KMS_KEY_ARN"] = env["CAPTURE_KMS_KEY_ARN"].rsplit("/", 1)[0]
    assert deployed == expected
    assert FUNCTION_MODELS[name].model_validate(deployed).to_env() == deployed
