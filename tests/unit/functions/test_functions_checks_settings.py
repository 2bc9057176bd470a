"""Pure parts of the functions: object checks, settings validation, tokens, names."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.data_arrival.checks import HEAD_BYTES, check_head, check_metadata, split_extension
from functions.deploy.resources import resource_name
from functions.shared.settings import (
    DataArrivalSettings,
    DeploySettings,
    SettingsError,
    load_settings,
)
from functions.shared.training import make_token
from infra.config import load_config
from infra.contracts import settings_in_account

# The environment the stack gives data_arrival, with small limits to test against.
ENV = (
    settings_in_account(
        load_config(Path(__file__).resolve().parents[3] / "config/dev.json"),
        account="123456789012",
        region="us-east-1",
    )["data_arrival"]
    .model_copy(
        update={
            "schema_columns": ("x", "y"),
            "allowed_extensions": (".CSV",),
            "allow_gzip": False,
            "max_object_bytes": 1000,
            "idempotency_ttl_seconds": 60,
        }
    )
    .to_env()
)
SETTINGS = load_settings(DataArrivalSettings, ENV)


def test_missing_and_invalid_variables_are_named():
    env = {k: v for k, v in ENV.items() if k != "DATA_BUCKET"} | {"SCHEMA_COLUMNS": "[x"}
    with pytest.raises(SettingsError) as err:
        load_settings(DataArrivalSettings, env)
    assert "DATA_BUCKET" in str(err.value) and "SCHEMA_COLUMNS" in str(err.value)


def test_deploy_settings_bounds():
    with pytest.raises(SettingsError, match="CANARY_PERCENT"):
        load_settings(DeploySettings, {"CANARY_PERCENT": "150"})


@pytest.mark.parametrize(
    ("key", "expected"),
    [("a/b.CSV.gz", ("csv", True)), ("a/b.csv", ("csv", False)), ("a/noext", ("", False))],
)
def test_split_extension(key, expected):
    assert split_extension(key) == expected


def test_metadata_checks_are_case_insensitive_on_extension():
    assert check_metadata("incoming/a.CSV", 10, SETTINGS) is None
    assert check_metadata("incoming/a.csv.gz", 10, SETTINGS).reason == "gzip_not_allowed"
    assert check_metadata("incoming/a.csv", 1001, SETTINGS).reason == "too_large"


def test_multibyte_character_cut_by_the_sample_is_not_an_error():
    body = ("x,y\n" + "é" * HEAD_BYTES).encode()
    assert check_head("k.csv", body[:HEAD_BYTES], complete=False, settings=SETTINGS) is None


def test_header_without_newline_in_sample_is_too_long():
    sample = b"x" * HEAD_BYTES
    assert check_head("k.csv", sample, False, SETTINGS).reason == "header_too_long"


def test_header_with_crlf_and_quotes_is_accepted():
    assert check_head("k.csv", b'"x",y\r\n1,2\r\n', True, SETTINGS) is None


def test_duplicate_columns_are_rejected():
    assert check_head("k.csv", b"x,y,y\n", True, SETTINGS).reason == "header_duplicate_columns"


def test_tokens_are_stable_and_valid_client_request_tokens():
    token = make_token("arrival", "b", "k", "v")
    assert token == make_token("arrival", "b", "k", "v") != make_token("arrival", "b", "k", "w")
    assert 32 <= len(token) <= 128 and token.replace("-", "").isalnum()


def test_resource_names_fit_sagemaker_limits():
    settings = DeploySettings.model_construct(endpoint_name="e" * 70)
    name = resource_name(settings, 12)
    assert len(name) <= 63 and name.endswith("-v12")
    # the same version always gets the same name, whichever event asked for it
    assert resource_name(settings, 12) == name != resource_name(settings, 13)
