"""Column names as users have them: accepted by the config, derived safely for AWS, mapped back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk import App

from infra.app import run
from infra.config import ConfigError, parse_config
from infra.names import RULES_BY_KIND, PhysicalNames
from pipelines.metric_names import feature_drift_metric, feature_drift_metrics, feature_token

REPO = Path(__file__).resolve().parents[2]
USER_NAMES = ["mean radius", "revenue/visit", "âge", "Größe (cm)", "%", "日本語", "a" * 200]
_AWS_SAFE = re.compile(r"[A-Za-z0-9_.-]+")


def _dev() -> dict:
    return json.loads((REPO / "config/dev.json").read_text())


def _named(*names: str) -> dict:
    config = _dev()
    for feature, name in zip(config["dataset"]["features"], names, strict=False):
        feature["name"] = name
    return config


def test_feature_and_target_names_with_spaces_punctuation_and_non_ascii_are_accepted():
    config = _named(*USER_NAMES)
    config["dataset"]["target"] = "churned?"
    parsed = parse_config(config)
    assert [f.name for f in parsed.dataset.features][: len(USER_NAMES)] == USER_NAMES
    assert parsed.dataset.target == "churned?"


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        (" age", "whitespace"),
        ("age\t", "whitespace"),
        ("", "empty"),
        ("a\nb", "control or invisible"),
        ("zero\u200bwidth", "control or invisible"),
        ("a" * 256, "at most 255"),
        ("a\u0302ge", "NFC"),
    ],
)
def test_a_name_no_file_could_match_is_refused_naming_it_and_the_rule(name, rule):
    with pytest.raises(ConfigError) as error:
        parse_config(_named(name))
    message = str(error.value)
    assert "dataset.features.0.name: " in message and rule in message
    assert "pattern" not in message  # the rule in words, not a regex


def test_the_token_of_a_safe_name_is_the_name_itself():
    for name in ("tenure_months", "age", "x.y-z", "A" * 64):
        assert feature_token(name) == name
    assert feature_drift_metric("age") == "feature_baseline_drift_age"


def test_tokens_are_deterministic_ascii_bounded_and_distinct():
    # Names that a plain slug would merge: the hash keeps them apart.
    names = [
        *USER_NAMES,
        "mean_radius",
        "mean  radius",
        "mean-radius",
        "Mean radius",
        "âge ",
        "age",
    ]
    tokens = [feature_token(n) for n in names]
    assert len(set(tokens)) == len(names)
    for name, token in zip(names, tokens, strict=True):
        assert token == feature_token(name)
        assert _AWS_SAFE.fullmatch(token) and len(token) <= 64, token
    assert feature_token("mean radius").startswith("mean_radius-")
    assert feature_token("âge").startswith("age-")


def test_alarm_and_metric_names_of_user_names_pass_the_aws_rules_and_map_back():
    names = PhysicalNames("mlops-dev")
    assert names.problems(USER_NAMES) == []
    features = names.drift_alarm_features(USER_NAMES)
    assert features[names.drift_score_alarm] is None
    for feature in USER_NAMES:
        alarm = names.drift_feature_alarm(feature)
        assert RULES_BY_KIND["alarm"].problem(alarm) is None and _AWS_SAFE.fullmatch(alarm)
        assert features[alarm] == feature
        metric = feature_drift_metric(feature)
        assert len(metric) <= 255 and _AWS_SAFE.fullmatch(metric)
    assert list(feature_drift_metrics(USER_NAMES)) == USER_NAMES


def test_a_name_shaped_like_another_names_token_is_refused():
    lookalike = feature_token("mean radius")
    with pytest.raises(ConfigError) as error:
        parse_config(_named("mean radius", lookalike))
    assert "dataset.features.1.name: two alarms would be named" in str(error.value)


def test_every_dataset_and_metric_problem_is_listed_at_once():
    config = _dev()
    config["dataset"]["problem_type"] = "regression"  # keeps its classes
    config["metric"]["name"] = "roc_auc"  # a classification metric
    with pytest.raises(ConfigError) as error:
        parse_config(config)
    message = str(error.value)
    assert "  dataset.classes: apply to classification only" in message
    assert "  metric.name: 'roc_auc' is not a regression metric" in message
    # ...and with a field error in the dataset too, which stops the dataset's own checks.
    config["dataset"]["features"][0]["name"] = "age "
    with pytest.raises(ConfigError) as error:
        parse_config(config)
    message = str(error.value)
    for line in ("dataset.features.0.name: 'age '", "dataset.classes:", "metric.name:"):
        assert f"  {line}" in message, message


def test_synth_prints_every_problem_without_a_traceback(tmp_path, capsys):
    config = _named(" mean radius")
    config["dataset"]["problem_type"] = "regression"
    config["metric"]["name"] = "accuracy"
    config["data"]["allowed_extensions"] = [".csv", ".xlsx"]
    config["data"]["max_decompression_ratio"] = 5000
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(config))
    assert run(App(context={"config": str(path)}, outdir=str(tmp_path / "out"))) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for key in (
        "dataset.features.0.name",
        "dataset.classes",
        "metric.name",
        "data.allowed_extensions",
        "data.max_decompression_ratio",
    ):
        assert f"\n  {key}: " in err, (key, err)
    assert "' mean radius'" in err and "'.xlsx'" in err


def test_allowed_extensions_are_readable_formats_in_lower_case():
    config = _dev()
    config["data"]["allowed_extensions"] = [".CSV", ".Parquet"]
    assert parse_config(config).data.allowed_extensions == (".csv", ".parquet")
    assert parse_config({**_dev(), "data": {}}).data.allowed_extensions == (".csv", ".parquet")


def test_column_names_too_long_for_the_lambda_environment_are_refused():
    config = _dev()
    config["dataset"]["features"] = [
        {"name": f"{i:02d} " + "é" * 200, "type": "numeric"} for i in range(3)
    ]
    with pytest.raises(ConfigError) as error:
        parse_config(config)
    assert "dataset.features: the 4 column names take" in str(error.value)
    assert "4096 bytes of environment variables" in str(error.value)
