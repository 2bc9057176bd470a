"""Physical names of one deployment (docs/contracts.md), derived from the config's prefix.

Imports nothing from CDK, so the `mlops` command can name the same resources without paying for
a CDK import.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PhysicalNames:
    prefix: str  # "<project_name>-<stage>"

    @property
    def training_pipeline(self) -> str:
        return f"{self.prefix}-training"

    @property
    def monitoring_pipeline(self) -> str:
        return f"{self.prefix}-monitoring"

    @property
    def model_group(self) -> str:
        return f"{self.prefix}-models"

    @property
    def endpoint(self) -> str:
        return f"{self.prefix}-endpoint"

    @property
    def drift_namespace(self) -> str:
        return f"{self.prefix}/Drift"

    @property
    def drift_alarm_prefix(self) -> str:
        return f"{self.prefix}-drift-"

    def bucket(self, kind: str, account: str, region: str) -> str:
        """`data`, `artifacts` or `access-logs`, unique per account and region."""
        return f"{self.prefix}-{kind}-{account}-{region}"
