"""Model quality against sklearn, prediction drift through the drift engine, data quality of
live values, and what of it is published."""

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from pipelines.drift import build_profile
from pipelines.steps.data_quality import (
    DATA_QUALITY_SCORE,
    DataQualityCounts,
    data_quality_section,
    data_quality_values,
)
from pipelines.steps.ground_truth import MergedLabels
from pipelines.steps.model_quality import model_quality_section, quality_metrics
from pipelines.steps.monitor import quality_values
from pipelines.steps.prediction_drift import (
    check_prediction_drift,
    prediction_baseline,
    prediction_drift_values,
)


def _binary(n=400, seed=0):
    rng = np.random.default_rng(seed)
    actual = rng.integers(0, 2, n)
    score = np.clip(actual * 0.35 + rng.uniform(0, 0.65, n), 0, 1)
    return pd.DataFrame(
        {
            "actual": actual.astype(str),
            "predicted_label": np.where(score >= 0.5, "1", "0"),
            "score": score,
            "probabilities": [None] * n,
        }
    )


def test_binary_metrics_equal_sklearns():
    frame = _binary()
    got = quality_metrics(frame, "classification", ["0", "1"], "1")
    y, pred, score = frame["actual"], frame["predicted_label"], frame["score"]
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y == "1", score))
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred, pos_label="1"))
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred, pos_label="1"))
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred, pos_label="1"))
    proba = np.column_stack([1 - score, score])
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=["0", "1"]))


def test_multiclass_metrics_from_probabilities_and_without_them():
    rng = np.random.default_rng(1)
    labels = ["a", "b", "c"]
    raw = rng.dirichlet([1, 1, 1], 300)
    actual = np.array(labels)[rng.integers(0, 3, 300)]
    predicted = np.array(labels)[raw.argmax(axis=1)]
    frame = pd.DataFrame(
        {
            "actual": actual,
            "predicted_label": predicted,
            "score": raw.max(axis=1),
            "probabilities": [dict(zip(labels, row, strict=True)) for row in raw],
        }
    )
    got = quality_metrics(frame, "classification", labels, "c")
    assert got["roc_auc"] == pytest.approx(
        skm.roc_auc_score(actual, raw, multi_class="ovr", labels=labels)
    )
    assert got["f1"] == pytest.approx(skm.f1_score(actual, predicted, average="macro"))
    # CSV answers carry only the label and the winning score: no AUC, no log loss
    csv_only = quality_metrics(frame.assign(probabilities=None), "classification", labels, "c")
    assert set(csv_only) == {"accuracy", "f1", "precision", "recall"}
    assert csv_only["accuracy"] == pytest.approx(skm.accuracy_score(actual, predicted))


def test_regression_metrics_equal_sklearns():
    rng = np.random.default_rng(2)
    y = rng.normal(10, 3, 200)
    pred = y + rng.normal(0, 1, 200)
    got = quality_metrics(
        pd.DataFrame({"actual": y.astype(str), "prediction": pred}), "regression", None, None
    )
    assert got["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)))
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert got["r2"] == pytest.approx(skm.r2_score(y, pred))


def _merged(frame: pd.DataFrame) -> MergedLabels:
    stamp = pd.Timestamp("2026-01-01T10:30:00Z")
    frame = frame.assign(
        key=[f"k{i}" for i in range(len(frame))],
        row=0,
        inference_time=stamp,
        labelled_at=stamp,
    )
    return MergedLabels(frame, n_labels=len(frame), n_duplicates=0, n_unmatched=0, n_wrong_count=0)


def _section(frame, min_rows):
    return model_quality_section(
        _merged(frame),
        problem_type="classification",
        metric="roc_auc",
        classes=["0", "1"],
        positive="1",
        min_labelled_rows=min_rows,
        window_minutes=60,
        start=pd.Timestamp("2026-01-01T00:00:00Z").to_pydatetime(),
        end=pd.Timestamp("2026-01-01T11:00:00Z").to_pydatetime(),
    )


def test_too_few_labelled_rows_publish_nothing_and_unknown_labels_do_not_count():
    frame = _binary(120)
    frame.loc[:29, "actual"] = "maybe"  # not a class of the model: reported, not measured
    short = _section(frame, min_rows=100)
    assert short["status"] == "insufficient_data" and short["value"] is None
    assert short["n_labelled_rows"] == 90 and short["n_unusable_labels"] == 30
    assert not any(k.startswith("model_quality_") for k in quality_values({"model_quality": short}))
    enough = _section(frame, min_rows=90)
    values = quality_values({"model_quality": enough})
    assert values["model_quality_roc_auc"] == pytest.approx(enough["metrics"]["roc_auc"])
    assert enough["value"] == pytest.approx(
        skm.roc_auc_score(frame["actual"][30:] == "1", frame["score"][30:])
    )


def _answers(labels, scores):
    return [
        {"label": lab, "score": s, "probabilities": {"0": 1 - s, "1": s}}
        for lab, s in zip(labels, scores, strict=True)
    ]


def test_prediction_drift_compares_live_answers_with_the_test_splits():
    rng = np.random.default_rng(3)
    scores = rng.uniform(0, 1, 2000)
    labels = np.where(scores >= 0.5, "1", "0")
    baseline = prediction_baseline(_answers(labels, scores), "classification")
    assert set(baseline["profile"]["features"]) == {"predicted_label", "score"}
    assert baseline["profile"]["n_rows"] == 2000

    same = rng.uniform(0, 1, 1500)
    live = pd.DataFrame({"predicted_label": np.where(same >= 0.5, "1", "0"), "score": same})
    calm = check_prediction_drift(baseline, live, default_threshold=0.1)
    assert calm.n_current == 1500 and calm.n_reference == 2000
    assert not calm.drifted_features

    shifted = rng.uniform(0.6, 1, 1500)  # the model now says "1" for everyone
    live = pd.DataFrame({"predicted_label": ["1"] * 1500, "score": shifted})
    result = check_prediction_drift(baseline, live, default_threshold=0.1)
    assert set(result.drifted_features) == {"predicted_label", "score"}
    # the same decision as the engine's on the same two samples
    ref = build_profile(
        [pd.DataFrame({"predicted_label": labels, "score": scores})],
        {"predicted_label": "categorical", "score": "numeric"},
    )
    from pipelines.drift import check_drift

    direct = check_drift(ref, [live])
    values = prediction_drift_values(result)
    assert values["prediction_drift_score"] == pytest.approx(direct.features["score"].statistic)


SCHEMA_JSON = {
    "target": "y",
    "problem_type": "classification",
    "classes": ["0", "1"],
    "features": [
        {"name": "age", "type": "numeric", "min": 18, "max": 100},
        {"name": "city", "type": "categorical", "categories": ["a", "b"]},
        {"name": "free", "type": "categorical"},
    ],
}


def test_data_quality_shares_against_the_training_data():
    from pipelines.schema import DatasetSchema

    schema = DatasetSchema.model_validate(SCHEMA_JSON)
    train = pd.DataFrame(
        {
            "age": [20.0, 30.0, np.nan, 40.0] * 25,  # a quarter missing in training
            "city": ["a", "b", "a", "b"] * 25,
            "free": ["x", "y", "x", "y"] * 25,
        }
    )
    profile = build_profile([train], schema.feature_kinds)
    live = pd.DataFrame(  # as captured: text, untyped
        {
            "age": ["25", "", "abc", "150", "17", "30", None, "44"],
            "city": ["a", "c", None, "b", "a", "a", "2.0", "b"],
            "free": ["x", "z", "x", "x", "y", "y", "x", "x"],
        }
    )
    counts = DataQualityCounts.start(schema, profile)
    counts.update(live[:3])
    counts.update(live[3:])  # streaming: chunk by chunk
    # with capture's typed frame beside the raw one, the same counts
    typed = live.assign(age=pd.to_numeric(live["age"], errors="coerce"))
    again = DataQualityCounts.start(schema, profile)
    again.update(live, typed)
    assert again.counts == counts.counts
    section = data_quality_section(counts, profile, min_rows=8)
    age, city, free = (section["features"][n] for n in ("age", "city", "free"))
    assert age["missing"]["share"] == 2 / 8 and age["missing"]["baseline_share"] == 0.25
    assert age["missing"]["excess"] == 0.0
    assert age["wrong_type"]["count"] == 1 and age["wrong_type"]["baseline_share"] == 0.0
    assert age["out_of_bounds"]["count"] == 2 and age["out_of_bounds"]["baseline_share"] == 0.0
    assert city["unseen"]["count"] == 2  # "c" and "2.0" are not categories of the schema
    assert city["missing"]["share"] == 1 / 8
    assert free["unseen"]["count"] == 1  # "z": never seen in training
    assert section["score"] == pytest.approx(2 / 8)  # out of bounds and unseen: 25% over 0%
    values = data_quality_values(section)
    assert values[DATA_QUALITY_SCORE] == pytest.approx(0.25)
    assert values["data_quality_out_of_bounds_age"] == 0.25
    assert values["data_quality_unseen_free"] == 1 / 8
    # below min_rows: reported, never published
    few = data_quality_section(counts, profile, min_rows=9)
    assert few["status"] == "insufficient_data" and data_quality_values(few) == {}
    assert quality_values({"data_quality": few}) == {}


def test_evaluation_keeps_the_test_splits_prediction_baseline(churn_model, churn_schema):
    from pipelines.steps.evaluate import evaluate_model

    model, splits, _ = churn_model
    result = evaluate_model(
        model,
        splits.test,
        churn_schema,
        metric="roc_auc",
        threshold=0.5,
        tolerance=0.0,
        live_value=None,
    )
    baseline = result["prediction_baseline"]
    assert baseline["profile"]["n_rows"] == len(splits.test)
    live = pd.DataFrame({"predicted_label": ["1"] * 10, "score": [0.9] * 10})
    assert check_prediction_drift(baseline, live, default_threshold=0.1).n_current == 10


def test_the_report_page_shows_model_quality_prediction_drift_and_data_quality():
    from pipelines.schema import DatasetSchema
    from pipelines.steps.report_html import render_html

    frame = _binary(150)
    quality = _section(frame, min_rows=100)
    schema = DatasetSchema.model_validate(SCHEMA_JSON)
    counts = DataQualityCounts.start(schema, None)
    counts.update(pd.DataFrame({"age": ["200"] * 120, "city": ["a"] * 120, "free": ["x"] * 120}))
    scores = np.linspace(0, 1, 500)
    baseline = prediction_baseline(
        _answers(np.where(scores > 0.5, "1", "0"), scores), "classification"
    )
    live = pd.DataFrame({"predicted_label": ["1"] * 200, "score": np.linspace(0.7, 1, 200)})
    report = {
        "endpoint_name": "e",
        "status": "ok",
        "model_quality": quality,
        "prediction_drift": {
            **check_prediction_drift(baseline, live, default_threshold=0.1).to_dict(),
            "status": "drift",
        },
        "data_quality": data_quality_section(counts, None, min_rows=100),
    }
    page = render_html(report)
    assert f"roc_auc {quality['value']:.4g} on 150 labelled rows" in page
    assert "<h2>Prediction drift</h2><p>200 answers against 500 on the test split" in page
    assert "predicted_label <span class='bad'>drift</span>" in page
    # every age is out of bounds: the row is flagged, with its share
    assert "<tr class=flag><td>age</td><td>out of bounds</td><td>120</td><td>100.0%</td>" in page


def test_data_quality_metrics_name_a_feature_by_its_token():
    from pipelines.metric_names import feature_token
    from pipelines.schema import DatasetSchema

    schema = DatasetSchema.model_validate(
        {
            "target": "y",
            "problem_type": "regression",
            "features": [{"name": "mean radius", "type": "numeric"}],
        }
    )
    counts = DataQualityCounts.start(schema, None)
    counts.update(pd.DataFrame({"mean radius": ["1.5", None]}))
    values = data_quality_values(data_quality_section(counts, None, min_rows=2))
    token = feature_token("mean radius")
    assert token != "mean radius"
    assert values[f"data_quality_missing_{token}"] == 0.5
    assert all(name.isascii() and " " not in name for name in values)
