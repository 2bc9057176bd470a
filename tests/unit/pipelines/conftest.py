import json
from pathlib import Path

import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from pipelines.datasets import generate_churn
from pipelines.model_spec import ModelSpec
from pipelines.schema import DatasetSchema
from pipelines.steps import inference
from pipelines.steps.preprocess import split_frame
from pipelines.steps.tabular import to_typed
from pipelines.steps.train import fit_model, model_metadata, save_model

CONFIG = Path(__file__).resolve().parents[3] / "config" / "dev.json"


@pytest.fixture(scope="session")
def churn_schema() -> DatasetSchema:
    return DatasetSchema.model_validate(json.loads(CONFIG.read_text())["dataset"])


@pytest.fixture()
def churn_raw() -> pd.DataFrame:
    """600 generated rows as text, the way Validate reads a CSV."""
    return generate_churn(600, seed=3).astype(str).replace("nan", None)


@pytest.fixture(scope="session")
def churn_model(tmp_path_factory, churn_schema):
    """A trained churn model saved the way Train saves it: (served model, splits, model dir)."""
    frame = to_typed(generate_churn(2000, seed=5).astype(str).replace("nan", None), churn_schema)
    splits = split_frame(frame, churn_schema, seed=1)
    params = ModelSpec(hyperparameters={"max_iter": 60})
    model_dir = tmp_path_factory.mktemp("model")
    # OpenMP spinning makes gradient boosting crawl on a busy shared machine.
    with threadpool_limits(1):
        save_model(
            fit_model(splits.train, churn_schema, params),
            model_metadata(churn_schema, params),
            model_dir,
        )
    return inference.model_fn(str(model_dir)), splits, model_dir
