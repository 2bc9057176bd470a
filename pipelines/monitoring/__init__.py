"""The monitoring pipeline factory: `build_monitoring_definition(settings) -> str` (JSON).

python -m pipelines.monitoring [--config config/dev.json] [--pretty]
"""

# First: sdk sets the environment the SageMaker SDK needs at import (see pipelines.training).
from pipelines import sdk  # noqa: F401, I001
from pipelines.monitoring.pipeline import PLACEHOLDERS, build_monitoring_definition, build_pipeline
from pipelines.settings import MonitoringPipelineSettings

__all__ = [
    "PLACEHOLDERS",
    "MonitoringPipelineSettings",
    "build_monitoring_definition",
    "build_pipeline",
]
