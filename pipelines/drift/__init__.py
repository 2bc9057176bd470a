"""Drift engine: a streaming reference profile and a drift check against it, in pure numpy.

profile = build_profile(chunks, {"age": "numeric", "city": "categorical"})
text = profile.to_json()  # stored next to the model (the Baseline step)
report = check_drift(ReferenceProfile.from_json(text), current_chunks)
report.drift_score, report.features["age"].drifted
"""

from pipelines.drift.check import DriftReport, FeatureDrift, check_drift
from pipelines.drift.profile import DEFAULT_BINS, ReferenceProfile, build_profile

__all__ = [
    "DEFAULT_BINS",
    "DriftReport",
    "FeatureDrift",
    "ReferenceProfile",
    "build_profile",
    "check_drift",
]
