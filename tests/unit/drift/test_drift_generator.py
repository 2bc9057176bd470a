"""The benchmark generator: the four drifted columns, and no other, are flagged."""

from __future__ import annotations

import json

import pandas as pd

from benchmarks.drift import generator as g
from pipelines.drift import ReferenceProfile, build_profile, check_drift


def test_generator_is_deterministic() -> None:
    a = g.chunk(1000, "current", 3)
    b = g.chunk(1000, "current", 3)
    pd.testing.assert_frame_equal(a, b)


def test_exactly_the_drifted_columns_are_flagged() -> None:
    n = 100_000
    profile = build_profile(g.chunks(n, "reference"), g.FEATURES)
    report = check_drift(ReferenceProfile.from_json(profile.to_json()), g.chunks(n, "current"))
    assert sorted(report.drifted_features) == sorted(g.DRIFTED)
    assert report.drift_score == len(g.DRIFTED) / len(g.FEATURES)
    assert report.n_reference == report.n_current == n
    json.dumps(report.to_dict(), allow_nan=False)  # strict JSON for the S3 report
