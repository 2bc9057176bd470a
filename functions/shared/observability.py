"""Powertools Logger, Metrics and Tracer, created once per container.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE, set by the stack on every function.
"""

from __future__ import annotations

import logging
import sys

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric


class _StdoutHandler(logging.StreamHandler):
    """A stream handler that looks up sys.stdout on every write.

    logging.StreamHandler binds the stream object at construction, which is module import here;
    anything that swaps sys.stdout later (test capture, the local emulator) would miss the logs.
    """

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201 - mirrors logging.StreamHandler.stream
        return sys.stdout

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


logger = Logger(logger_handler=_StdoutHandler())
metrics = Metrics()
# Only botocore is patched: the handlers make no other outbound calls, and patching everything
# imports every library the X-Ray SDK knows how to patch that happens to be installed.
tracer = Tracer(patch_modules=("botocore",))


def count(name: str, reason: str | None = None) -> None:
    """Count one occurrence; with a reason, as its own EMF blob with a `reason` dimension.

    The reason goes on a single metric so it does not leak onto the invocation's other metrics.
    """
    if reason is None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        return
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
    ) as metric:
        metric.add_dimension(name="reason", value=reason)
