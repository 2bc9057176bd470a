"""The CDK app: the only place that reads context and environment.

npx cdk synth                              # config/dev.json
npx cdk deploy -c config=config/prod.json  # another stage: another config file
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from aws_cdk import App, Environment, Tags, Validations
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks

from infra.assets import REPO_ROOT, AssetError, stage_lambda_package
from infra.config import ConfigError, StackConfig, load_config
from infra.pipeline_definitions import build_pipeline_artifacts
from infra.stacks.mlops_stack import MlopsStack

DEFAULT_CONFIG = "config/dev.json"


def config_path(context_value: str | None) -> Path:
    path = Path(context_value or DEFAULT_CONFIG)
    return path if path.is_absolute() else REPO_ROOT / path


def build_stack(app: App, config: StackConfig, env: Mapping[str, str]) -> MlopsStack:
    """Compose the stack into `app` and turn on the cdk-nag checks."""
    stack = MlopsStack(
        app,
        config.prefix,
        config=config,
        pipelines=build_pipeline_artifacts(config),
        lambda_code=lambda_.Code.from_asset(str(stage_lambda_package())),
        env=Environment(
            account=env.get("CDK_DEFAULT_ACCOUNT"), region=env.get("CDK_DEFAULT_REGION")
        ),
        description=f"Serverless MLOps loop for {config.project_name} ({config.stage})",
    )
    Tags.of(stack).add("project", config.project_name)
    Tags.of(stack).add("stage", config.stage)
    # Acknowledgments are written into the template too: the audit trail ships with the stack.
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True)
    )
    return stack


def run(app: App) -> int:
    """Synthesize the stage the `config` context names; a bad config exits 1 naming the key,
    an asset that cannot be built exits 1 saying why."""
    try:
        config = load_config(config_path(app.node.try_get_context("config")))
        build_stack(app, config, os.environ)
    except (ConfigError, AssetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    app.synth()
    return 0


def main() -> int:
    return run(App())


if __name__ == "__main__":
    sys.exit(main())
