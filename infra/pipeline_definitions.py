"""The pipelines as the stack ships them: definitions built offline by `pipelines/`, plus step code.

The SageMaker SDK is imported here, at synth time only; it never reaches a Lambda.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import CfnMapping, Stack
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.assets import BUILD_DIR, REPO_ROOT
from infra.config import StackConfig
from infra.contracts import monitoring_pipeline_settings, training_pipeline_settings

SKLEARN_IMAGE_VERSION = "1.9-0"
SKLEARN_IMAGE_REPOSITORY = "sagemaker-scikit-learn"


@dataclass(frozen=True)
class PipelineArtifacts:
    training_definition: str
    monitoring_definition: str
    training_placeholders: tuple[str, ...]
    monitoring_placeholders: tuple[str, ...]
    code_bundle_path: Path
    code_version: str
    image_registries: Mapping[str, str]

    def code_bundle_asset(self, scope: Construct, construct_id: str) -> s3_assets.Asset:
        return s3_assets.Asset(scope, construct_id, path=str(self.code_bundle_path))

    def sklearn_image_uri(self, stack: Stack) -> str:
        """The scikit-learn framework image of the stack's region, from the SDK's own registry
        table, so a region-agnostic template still resolves the right AWS-owned account."""
        mapping = CfnMapping(
            stack,
            "SklearnImageRegistries",
            mapping={
                region: {"account": account} for region, account in self.image_registries.items()
            },
        )
        account = mapping.find_in_map(stack.region, "account")
        return (
            f"{account}.dkr.ecr.{stack.region}.{stack.url_suffix}/"
            f"{SKLEARN_IMAGE_REPOSITORY}:{SKLEARN_IMAGE_VERSION}-cpu-py3"
        )

    @staticmethod
    def pick(values: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
        """The substitutions one definition uses; a name nobody supplies fails synth loudly.
        Pseudo parameters (`AWS::Region`) are CloudFormation's own and need no value."""
        names = [n for n in names if not n.startswith("AWS::")]
        missing = sorted(set(names) - set(values))
        if missing:
            raise ValueError(
                f"pipeline definition uses placeholders the stack does not supply: {missing}"
            )
        return {name: values[name] for name in names}


def build_pipeline_artifacts(config: StackConfig, build_dir: Path = BUILD_DIR) -> PipelineArtifacts:
    # Imported here so that `infra.config` stays importable without the SDK's start-up cost.
    from pipelines import bundle, monitoring, training

    training_definition = training.build_training_definition(training_pipeline_settings(config))
    monitoring_definition = monitoring.build_monitoring_definition(
        monitoring_pipeline_settings(config)
    )
    entry_point = config.model.entry_point
    bundle_path = bundle.build_code_bundle(
        build_dir / "pipeline-code",
        model_folder=(REPO_ROOT / entry_point).parent if entry_point else None,
    )
    return PipelineArtifacts(
        training_definition=training_definition,
        monitoring_definition=monitoring_definition,
        training_placeholders=tuple(training.PLACEHOLDERS),
        monitoring_placeholders=tuple(monitoring.PLACEHOLDERS),
        code_bundle_path=bundle_path,
        code_version=bundle.code_version(bundle_path),
        image_registries=_sklearn_registries(),
    )


def _sklearn_registries() -> dict[str, str]:
    from sagemaker.core import image_uris

    config = image_uris.config_for_framework("sklearn")
    registries = config["inference"]["versions"][SKLEARN_IMAGE_VERSION]["registries"]
    return dict(sorted(registries.items()))
