"""A config that does not validate stops synthesis with the bad key named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App

from infra.app import run
from infra.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]


def _dev() -> dict:
    return json.loads((REPO / "config/dev.json").read_text())


def test_bundled_configs_validate_and_differ_only_in_settings():
    dev, prod = load_config(REPO / "config/dev.json"), load_config(REPO / "config/prod.json")
    assert (dev.stage, prod.stage) == ("dev", "prod")
    assert dev.dataset == prod.dataset and dev.prefix != prod.prefix


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda c: c["metric"].update(name="rmse"), "metric.name"),
        (lambda c: c["metric"].pop("threshold"), "metric.threshold"),
        (lambda c: c.update(approval_mode="sometimes"), "approval_mode"),
        (
            lambda c: c["compute"].update(training_instance_type="m5.large"),
            "compute.training_instance_type",
        ),
        (lambda c: c["drift"].update(score_threshold=1.5), "drift.score_threshold"),
        (lambda c: c["dataset"]["features"][0].update(type="text"), "dataset.features.0.type"),
        (lambda c: c["retrain"].update(daily_cap=0), "retrain.daily_cap"),
        (lambda c: c.update(notification_email="not-an-email"), "notification_email"),
        (lambda c: c.update(stage="qa"), "stage"),
        (lambda c: c.update(unknown_setting=1), "unknown_setting"),
        (lambda c: c["data"].update(allowed_extensions=["csv"]), "data.allowed_extensions"),
    ],
)
def test_invalid_config_names_the_key(change, key):
    config = _dev()
    change(config)
    with pytest.raises(ConfigError) as error:
        parse_config(config, source="config/dev.json")
    assert f"  {key}" in str(error.value), str(error.value)


def test_duplicate_feature_and_target_collisions_are_named():
    config = _dev()
    config["dataset"]["features"].append(dict(config["dataset"]["features"][0]))
    with pytest.raises(ConfigError, match="repeated: \\['tenure_months'\\]"):
        parse_config(config)


def test_synth_entry_point_exits_non_zero_naming_the_key(tmp_path, capsys):
    bad = _dev()
    bad["metric"]["threshold"] = "high"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    assert run(App(context={"config": str(path)}, outdir=str(tmp_path / "out"))) == 1
    err = capsys.readouterr().err
    assert "metric.threshold" in err and str(path) in err


def test_missing_or_broken_config_file_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(broken)
