"""The stored profile: counts survive the round trip, older profiles still read, unknown fail."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipelines.drift import ReferenceProfile, build_profile, check_drift


@pytest.fixture(scope="module")
def profile() -> ReferenceProfile:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(0, 1, 20_000), "c": rng.choice(["a", "b"], 20_000)})
    return build_profile([frame], {"x": "numeric", "c": "categorical"})


def test_round_trip_keeps_every_count(profile: ReferenceProfile) -> None:
    again = ReferenceProfile.from_json(profile.to_json())
    assert np.array_equal(again.stats["x"].counts, profile.stats["x"].counts)
    assert again.stats["x"].counts.dtype == np.int64
    assert again.stats["c"].counts == profile.stats["c"].counts


def test_format_1_profile_with_count_lists_still_reads(profile: ReferenceProfile) -> None:
    stored = json.loads(profile.to_json())
    stored["format_version"] = 1
    stored["stats"]["x"]["counts"] = profile.stats["x"].counts.tolist()
    old = ReferenceProfile.from_json(json.dumps(stored))
    assert np.array_equal(old.stats["x"].counts, profile.stats["x"].counts)
    current = pd.DataFrame({"x": np.random.default_rng(3).normal(0, 1, 5_000), "c": ["a"] * 5_000})
    assert check_drift(old, [current]).features["x"].drifted is False


def test_unknown_format_is_refused_by_name(profile: ReferenceProfile) -> None:
    stored = json.loads(profile.to_json())
    stored["format_version"] = 99
    with pytest.raises(ValueError, match="unsupported drift profile format 99"):
        ReferenceProfile.from_json(json.dumps(stored))
