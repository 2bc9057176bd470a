import json
from pathlib import Path

import pandas as pd
import pytest

from pipelines.datasets import generate_churn
from pipelines.schema import DatasetSchema

CONFIG = Path(__file__).resolve().parents[3] / "config" / "dev.json"


@pytest.fixture(scope="session")
def churn_schema() -> DatasetSchema:
    return DatasetSchema.model_validate(json.loads(CONFIG.read_text())["dataset"])


@pytest.fixture()
def churn_raw() -> pd.DataFrame:
    """600 generated rows as text, the way Validate reads a CSV."""
    return generate_churn(600, seed=3).astype(str).replace("nan", None)
