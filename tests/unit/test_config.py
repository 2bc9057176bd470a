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


def _problems(config: dict) -> str:
    with pytest.raises(ConfigError) as error:
        parse_config(config, source="config/dev.json")
    return str(error.value)


def _feature(config: dict, **feature) -> dict:
    config["dataset"]["features"].append({"type": "numeric", **feature})
    return config


@pytest.mark.parametrize(
    ("change", "key", "value"),
    [
        # Values JSON can carry that no setting means.
        (lambda c: c["metric"].update(threshold=float("nan")), "metric.threshold", "nan"),
        (
            lambda c: c["drift"].update(default_threshold=float("nan")),
            "drift.default_threshold",
            "nan",
        ),
        (
            lambda c: c["retrain"].update(cooldown_hours=float("nan")),
            "retrain.cooldown_hours",
            "nan",
        ),
        (
            lambda c: c["dataset"]["features"][0].update(max=float("inf")),
            "dataset.features.0.max",
            "inf",
        ),
        # Thresholds outside what the metric can be.
        (lambda c: c["metric"].update(threshold=-0.1), "metric.threshold", "-0.1"),
        (lambda c: c["metric"].update(threshold=1.5), "metric.threshold", "1.5"),
        (lambda c: c["metric"].update(tolerance=2.0), "metric.tolerance", "2.0"),
        (lambda c: c["metric"].update(tolerance=-0.5), "metric.tolerance", "-0.5"),
        (lambda c: c["drift"].update(score_threshold=-0.2), "drift.score_threshold", "-0.2"),
        (lambda c: c["drift"].update(confidence=1.0), "drift.confidence", "1.0"),
        (lambda c: c["drift"].update(min_window_rows=0), "drift.min_window_rows", "0"),
        (
            lambda c: c["dataset"]["features"][3].update(max_null_ratio=1.2),
            "dataset.features.3.max_null_ratio",
            "1.2",
        ),
        # Lists that leave nothing to check or learn.
        (
            lambda c: c["dataset"]["features"][5].update(categories=[]),
            "dataset.features.5.categories",
            "[]",
        ),
        (
            lambda c: c["dataset"]["features"][5].update(categories=["a", "a"]),
            "dataset.features.5.categories",
            "['a']",
        ),
        (lambda c: c["dataset"].update(classes=["1"]), "dataset.classes", "['1']"),
        (lambda c: c["dataset"].update(classes=["0", "0"]), "dataset.classes", "['0']"),
        (lambda c: c["data"].update(allowed_extensions=[]), "data.allowed_extensions", "[]"),
        # Schedules EventBridge refuses.
        (
            lambda c: c["drift"].update(schedule="rate(0 minutes)"),
            "drift.schedule",
            "rate(0 minutes)",
        ),
        (lambda c: c["drift"].update(schedule="rate(1 hours)"), "drift.schedule", "rate(1 hours)"),
        (
            lambda c: c["retrain"].update(schedule="cron(0 10 * * * *)"),
            "retrain.schedule",
            "cron(0 10 * * * *)",
        ),
        (
            lambda c: c["retrain"].update(schedule="cron(0 25 * * ? *)"),
            "retrain.schedule",
            "cron(0 25 * * ? *)",
        ),
        (lambda c: c["retrain"].update(schedule="weekly"), "retrain.schedule", "weekly"),
        # Feature names whose drift alarm is another alarm of the stack.
        (lambda c: _feature(c, name="score"), "dataset.features.8.name", "mlops-dev-drift-score"),
        (
            lambda c: _feature(c, name="retrain-errors"),
            "dataset.features.8.name",
            "mlops-dev-drift-retrain-errors",
        ),
    ],
)
def test_config_that_cannot_work_is_refused_naming_key_and_value(change, key, value):
    config = _dev()
    change(config)
    message = _problems(config)
    line = next((ln for ln in message.splitlines() if ln.startswith(f"  {key}: ")), None)
    assert line is not None and value in line, message


def test_a_regression_error_metric_needs_a_positive_threshold():
    config = _dev()
    config["dataset"].update(problem_type="regression", target="monthly_spend")
    config["dataset"].pop("classes")
    config["metric"] = {"name": "rmse", "threshold": 0}
    assert "  metric.threshold: 0.0 is not above 0" in _problems(config)
    config["metric"]["threshold"] = 12.5
    assert parse_config(config).metric.threshold == 12.5


@pytest.mark.parametrize(
    ("count", "key", "value"),
    [
        ("processing_instance_count", "compute.processing_instance_count", "no step shards"),
        (
            "training_instance_count",
            "compute.training_instance_count",
            "does not train distributed",
        ),
    ],
)
def test_more_than_one_processing_or_training_instance_is_refused_with_the_reason(
    count, key, value
):
    config = _dev()
    config["compute"][count] = 2
    message = _problems(config)
    assert f"  {key}: 2 instances" in message and value in message, message


def test_prod_runs_every_step_on_one_instance():
    prod = load_config(REPO / "config/prod.json")
    assert (prod.compute.processing_instance_count, prod.compute.training_instance_count) == (1, 1)


def test_reserved_concurrency_is_off_by_default_and_checked_against_the_account():
    assert parse_config(_dev()).functions.reserved == {}
    config = _dev()
    config["functions"] = {"reserve_concurrency": True, "data_arrival_concurrency": 5}
    assert "  functions.account_concurrency_limit: required" in _problems(config)
    # A new account: 10 concurrent executions, of which Lambda keeps 100 unreserved.
    config["functions"]["account_concurrency_limit"] = 10
    message = _problems(config)
    assert "  functions.account_concurrency_limit: 10 is too low to reserve 5" in message
    assert "at least 105" in message
    config["functions"]["account_concurrency_limit"] = 1000
    assert parse_config(config).functions.reserved == {"data_arrival": 5}


def test_a_bucket_name_over_63_characters_is_refused_naming_it():
    # 20-character project, prod, and the longest region name (14 characters).
    config = _dev()
    config.update(project_name="a-twenty-char-projec", stage="prod")
    message = _problems(config)
    assert (
        "  project_name: S3 bucket name "
        "'a-twenty-char-projec-prod-access-logs-123456789012-ap-southeast-3' is 65 characters"
    ) in message


def test_the_retained_name_suffix_renames_what_cdk_destroy_keeps():
    config = _dev()
    config["retained_name_suffix"] = "v2"
    names = parse_config(config).names
    assert names.model_group == "mlops-dev-models-v2"
    assert names.bucket("data", "123456789012", "us-east-1") == (
        "mlops-dev-data-123456789012-us-east-1-v2"
    )
    assert names.endpoint == "mlops-dev-endpoint" and names.state_table == "mlops-dev-state"
    config["retained_name_suffix"] = "V2_"
    assert "  retained_name_suffix: " in _problems(config)


def test_the_powertools_layer_version_setting_is_gone():
    config = _dev()
    config["powertools_layer_version"] = 27
    assert "  powertools_layer_version: Extra inputs are not permitted" in _problems(config)


def _with_features(count: int) -> dict:
    config = _dev()
    config["dataset"]["features"] = [{"name": f"f{i:03d}", "type": "numeric"} for i in range(count)]
    return config


def test_features_beyond_the_drift_rule_pattern_size_are_refused():
    # The drift rule names every drift alarm; its pattern may hold 2048 characters.
    accepted = max(n for n in range(1, 120) if _accepts(_with_features(n)))
    message = _problems(_with_features(accepted + 1))
    assert f"  dataset.features: {accepted + 1} features make the drift rule's event pattern" in (
        message
    )
    assert "EventBridge allows 2048" in message


def test_features_beyond_cloudformations_500_resources_are_refused_with_the_maximum():
    # Each feature adds its drift alarm; dev (no retrain schedule, no email) leaves room for
    # 500 - 63 of them. Both limits are listed when both are crossed.
    refused = _problems(_with_features(438))
    assert "  dataset.features: 438 features make the stack 501 resources" in refused
    assert "at most 437 features" in refused
    assert "make the stack" not in _problems(_with_features(437))
    from infra.quotas import max_features_by_resources

    assert max_features_by_resources(retrain_schedule=False, email=False) == 437


def test_every_problem_is_listed_at_once_even_when_keys_of_both_kinds_are_wrong(tmp_path, capsys):
    config = _dev()
    config.update(project_name="a-twenty-char-projec", stage="prod")
    config["metric"]["threshold"] = float("nan")
    config["drift"]["schedule"] = "rate(0 minutes)"
    config["dataset"]["classes"] = ["1"]
    config["dataset"]["features"][5]["categories"] = []
    config["compute"]["processing_instance_count"] = 2
    _feature(config, name="score")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(config))
    assert run(App(context={"config": str(path)}, outdir=str(tmp_path / "out"))) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for key in (
        "metric.threshold",
        "drift.schedule",
        "dataset.classes",
        "dataset.features.5.categories",
        "compute.processing_instance_count",
        "project_name",
        "dataset.features.8.name",
    ):
        assert f"\n  {key}: " in err, (key, err)


def _accepts(config: dict) -> bool:
    try:
        parse_config(config)
    except ConfigError:
        return False
    return True


def test_a_canary_no_fleet_can_take_is_refused_at_synth():
    config = _dev()
    config["deployment"]["canary_percent"] = 60
    problems = _problems(config)
    assert "deployment.canary_percent" in problems and "60%" in problems
    # one instance is fine: it shifts all at once and bakes for the canary wait
    config["deployment"]["canary_percent"] = 10
    assert parse_config(config, source="config/dev.json").deployment.canary_percent == 10


def test_labelled_traffic_is_off_by_default_and_its_look_back_is_checked():
    config = _dev()
    config.pop("retrain")
    assert parse_config(config).retrain.labelled_traffic.enabled is False
    config = _dev()
    config["retrain"]["labelled_traffic"] = {"enabled": True, "days": 40}
    message = _problems(config)
    assert (
        "  retrain.labelled_traffic.days: 40 days reach past data.capture_expiry_days (30)"
        in message
    ), message
    config["data"]["capture_expiry_days"] = 45
    assert parse_config(config).retrain.labelled_traffic.days == 40
    # Off, the look-back reads nothing, so it need not fit the capture's life.
    config["data"]["capture_expiry_days"] = 7
    config["retrain"]["labelled_traffic"]["enabled"] = False
    assert parse_config(config).retrain.labelled_traffic.days == 40


@pytest.mark.parametrize(
    ("labelled", "key"),
    [
        ({"enabled": True, "days": 0}, "retrain.labelled_traffic.days"),
        ({"enabled": True, "days": 400}, "retrain.labelled_traffic.days"),
        ({"enabled": 2}, "retrain.labelled_traffic.enabled"),
        ({"enabled": True, "hours": 3}, "retrain.labelled_traffic.hours"),
    ],
)
def test_invalid_labelled_traffic_names_the_key_and_value(labelled, key):
    config = _dev()
    config["retrain"]["labelled_traffic"] = labelled
    message = _problems(config)
    line = next((ln for ln in message.splitlines() if ln.startswith(f"  {key}: ")), None)
    assert line is not None, message
