"""The labelled captured traffic a retrain adds (retrain.labelled_traffic): the current versions
of the endpoint's capture and ground-truth objects of the look-back, for the run's manifest.

Only listings (ListObjectVersions, as for the accepted dataset): Validate reads these versions,
joins each captured request with its labels and checks the rows as it checks uploaded data
(pipelines/entrypoints/labelled_input.py).

Both folders are laid out by hour, `.../yyyy/mm/dd/hh/<file>`: capture under
`capture/<endpoint>/<variant>/`, by the hour SageMaker wrote the file; labels under
`ground-truth/<endpoint>/`, by the hour they were uploaded
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html). An
object counts when its hour is in the look-back: the capture files of the hours since its start,
and every label file uploaded since then, so a label that came late still joins its request.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.shared.dataset import current_versions
from functions.shared.settings import DriftRetrainSettings

_HOUR = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+$")


def labelled_traffic(settings: DriftRetrainSettings, now: float) -> dict[str, Any] | None:
    """The manifest's `labelled_traffic` (docs/contracts.md); None when the switch is off."""
    if not settings.labelled_traffic_days:
        return None
    until = datetime.fromtimestamp(now, tz=UTC)
    since = until - timedelta(days=settings.labelled_traffic_days)
    first_hour = since.strftime("%Y/%m/%d/%H")
    labels = _in_hours(settings, settings.labelled_ground_truth_prefix, first_hour)
    # Without a label no captured request becomes a row: nothing to read.
    captured = _in_hours(settings, settings.labelled_capture_prefix, first_hour) if labels else []
    return {
        "since": _iso(since),
        "until": _iso(until),
        "capture": captured,
        "ground_truth": labels,
    }


def _in_hours(settings: DriftRetrainSettings, prefix: str, first_hour: str) -> list[dict]:
    """The current versions under `prefix` in hour folders from `first_hour` (yyyy/mm/dd/hh)
    on; keys outside the hourly layout are not capture or labels."""
    out = []
    for version in current_versions(settings, prefix):
        hour = re.search(_HOUR, version["key"])
        if hour and "/".join(hour.groups()) >= first_hour:
            out.append(version)
    return out


def _iso(moment: datetime) -> str:
    """With milliseconds: cut to the second, the window's end would leave out the requests
    captured in the decision's own second (inferenceTime has whole seconds)."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
