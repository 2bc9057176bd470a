"""The training pipeline factory: `build_training_definition(settings) -> str` (JSON).

Built offline and byte-identical for the same settings; account- and region-specific values are
the `${Name}` placeholders in PLACEHOLDERS, for the CDK stack's Fn::Sub.

    python -m pipelines.training [--config config/dev.json] [--pretty]
"""

# First: sdk sets the environment the SageMaker SDK needs at import (region, offline switches),
# and the package's __init__ runs before any of its modules import sagemaker.
from pipelines import sdk  # noqa: F401, I001
from pipelines.settings import TrainingPipelineSettings
from pipelines.training.pipeline import PLACEHOLDERS, build_pipeline, build_training_definition

__all__ = [
    "PLACEHOLDERS",
    "TrainingPipelineSettings",
    "build_pipeline",
    "build_training_definition",
]
