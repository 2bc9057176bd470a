"""Serving input is typed by the model's schema: the same values give the same predictions in every
content type, and a value that cannot be its feature's type is a 400 naming row, feature, value."""

import json

import numpy as np
import pandas as pd
import pytest
from pandas._libs.parsers import STR_NA_VALUES

from pipelines.model_spec import ModelSpec
from pipelines.schema import DatasetSchema
from pipelines.steps import inference
from pipelines.steps.evaluate import evaluate_model
from pipelines.steps.serving_features import MISSING_MARKERS
from pipelines.steps.tabular import to_typed
from pipelines.steps.train import fit_model, model_metadata, save_model

RECORD = {
    "tenure_months": 1,
    "monthly_charges": 51.59,
    "support_calls": 1,
    "age": 41,
    "data_usage_gb": 36.3,
    "contract": "one-year",
    "payment_method": "wallet",
    "region": "west",
}
ROW = "1,51.59,1,41,36.3,one-year,wallet,west"


def _serve(model, body, content_type):
    data = inference.input_fn(body, content_type)
    return inference.predict_fn(data, model)


@pytest.fixture(scope="module")
def plan_schema() -> DatasetSchema:
    return DatasetSchema(
        target="churned",
        problem_type="classification",
        classes=["0", "1"],
        min_rows=10,
        features=[
            {"name": "plan", "type": "categorical"},
            {"name": "usage", "type": "numeric"},
        ],
    )


@pytest.fixture(scope="module")
def plan_model(tmp_path_factory, plan_schema):
    """A model whose categorical `plan` is coded as numbers (1, 2, 5), as many datasets code
    them; the schema lists no categories, so the model's are those seen in training."""
    schema = plan_schema
    rng = np.random.default_rng(0)
    plan = rng.choice(["1", "2", "5"], 600)
    usage = rng.uniform(0, 10, 600)
    churned = np.where(plan == "5", "1", "0")
    raw = pd.DataFrame({"plan": plan, "usage": usage.astype(str), "churned": churned})
    train = to_typed(raw, schema)
    params = ModelSpec(algorithm="linear")
    model_dir = tmp_path_factory.mktemp("plan-model")
    save_model(fit_model(train, schema, params), model_metadata(schema, params, train), model_dir)
    return inference.model_fn(str(model_dir))


def test_the_model_records_the_categories_it_was_trained_on(plan_model):
    assert plan_model["metadata"]["categories"] == {"plan": ["1", "2", "5"]}


def test_evaluation_scores_a_held_out_category_the_endpoint_refuses(plan_model, plan_schema):
    test = pd.DataFrame(
        {
            "plan": ["5", "7", "1", "7"],
            "usage": [1.0, 2.0, 3.0, 4.0],
            "churned": ["1", "0", "0", "1"],
        }
    ).astype({"plan": object, "churned": object})
    result = evaluate_model(
        plan_model,
        test,
        plan_schema,
        metric="accuracy",
        threshold=0.1,
        tolerance=0.0,
        live_value=None,
    )
    assert result["binary_classification_metrics"]["accuracy"]["value"] >= 0.5
    with pytest.raises(inference.RequestError, match="row 0, feature plan: '7' is not a category"):
        _serve(plan_model, "7,2.0", "text/csv")


def test_a_numeric_coded_category_predicts_the_same_in_csv_and_json(plan_model):
    bodies = [
        ("5.0,3.5", "text/csv"),
        ("5,3.5", "text/csv"),
        ("plan,usage\n5.0,3.5", "text/csv"),
        (json.dumps([[5, 3.5]]), "application/json"),
        (json.dumps({"instances": [{"plan": 5.0, "usage": 3.5}]}), "application/json"),
        (json.dumps({"plan": "5", "usage": "3.5"}), "application/json"),
    ]
    scores = [_serve(plan_model, body, kind)[0]["probabilities"] for body, kind in bodies]
    assert all(s == pytest.approx(scores[0]) for s in scores), scores
    # ...and that is the category 5 the model learned, not an unknown one.
    other = _serve(plan_model, "1,3.5", "text/csv")[0]["probabilities"]
    assert scores[0]["1"] > 0.9 > other["1"]


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"instances": [RECORD]}),
        json.dumps([RECORD]),
        json.dumps([list(RECORD.values())]),
    ],
    ids=["instances", "records", "lists"],
)
def test_a_json_body_sent_as_csv_is_a_400(churn_model, body):
    model, _, _ = churn_model
    with pytest.raises(inference.RequestError, match="the body is JSON but was sent as text/csv"):
        _serve(model, body, "text/csv")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (f"{ROW}\n{ROW.replace(',41,', ',forty,')}\n", "text/csv"),
        (json.dumps([RECORD, {**RECORD, "age": "forty"}]), "application/json"),
        (
            json.dumps(
                [list(RECORD.values()), [1, 51.59, 1, "forty", 36.3, "one-year", "wallet", "west"]]
            ),
            "application/json",
        ),
    ],
    ids=["csv", "json-records", "json-lists"],
)
def test_text_in_a_numeric_column_is_a_400_naming_row_feature_and_value(
    churn_model, body, content_type
):
    model, _, _ = churn_model
    with pytest.raises(inference.RequestError) as error:
        _serve(model, body, content_type)
    assert error.value.status_code == 400
    assert "row 1, feature age: 'forty' is not a number" in error.value.message


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (ROW.replace("west", "mars"), "text/csv"),
        (json.dumps({**RECORD, "region": "mars"}), "application/json"),
        (json.dumps({**RECORD, "contract": 12}), "application/json"),
    ],
    ids=["csv", "json", "json-number"],
)
def test_an_unknown_category_is_a_400_in_every_content_type(churn_model, body, content_type):
    model, _, _ = churn_model
    with pytest.raises(inference.RequestError) as error:
        _serve(model, body, content_type)
    assert error.value.status_code == 400
    assert "row 0, feature " in error.value.message
    assert "is not a category of the model" in error.value.message
    assert ("'mars'" in error.value.message) or ("12" in error.value.message)


def test_every_problem_is_named_at_once(churn_model):
    model, _, _ = churn_model
    bad = {**RECORD, "age": "old", "region": "mars", "tenure_months": True}
    with pytest.raises(inference.RequestError, match="not True"):
        _serve(model, json.dumps(bad), "application/json")  # true is no number nor category
    del bad["tenure_months"]
    with pytest.raises(inference.RequestError) as error:
        _serve(model, json.dumps([RECORD, {**bad, "tenure_months": 2}]), "application/json")
    message = error.value.message
    assert message.startswith("2 value(s) do not fit the model's features")
    assert "row 1, feature age: 'old' is not a number" in message
    assert "row 1, feature region: 'mars' is not a category" in message


def test_missing_is_the_same_in_csv_and_json(churn_model):
    model, _, _ = churn_model
    csv_out = _serve(model, ROW.replace(",41,", ",NA,").replace("west", ""), "text/csv")
    for age, region in ((None, None), ("NA", ""), ("nan", "null")):
        body = json.dumps({**RECORD, "age": age, "region": region})
        json_out = _serve(model, body, "application/json")
        assert json_out[0]["probabilities"] == pytest.approx(csv_out[0]["probabilities"])


def test_missing_markers_are_those_training_reads_as_missing():
    # Training reads CSVs with pandas' defaults (pipelines/steps/tabular.py).
    assert frozenset(STR_NA_VALUES) == MISSING_MARKERS
