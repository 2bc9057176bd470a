"""Throttling and 5xx: botocore retries them; a persistent failure raises (-> async retry/DLQ)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from lambda_fixtures import GOOD_CSV, handler, s3_event
from moto.sagemaker.exceptions import SagemakerClientError

from functions.shared.settings import DataArrivalSettings, load_settings
from functions.shared.training import read_guard


class FailFirst:
    """Makes a moto backend method fail `failures` times, as the service would: an error
    response and no side effect. (A botocore before-send hook cannot do this under moto:
    moto's own hook runs too, so the 'failed' request would still take effect.)"""

    def __init__(self, monkeypatch, target: type, method: str, failures: int, error) -> None:
        self.calls = 0
        original = getattr(target, method)

        def wrapper(backend, *args, **kwargs):
            self.calls += 1
            if self.calls <= failures:
                raise error()
            return original(backend, *args, **kwargs)

        monkeypatch.setattr(target, method, wrapper)


def _throttle(monkeypatch, failures: int) -> FailFirst:
    from moto.sagemaker.models import SageMakerModelBackend

    return FailFirst(
        monkeypatch,
        SageMakerModelBackend,
        "start_pipeline_execution",
        failures,
        lambda: SagemakerClientError("ThrottlingException", "Rate exceeded"),
    )


def _slow_down(monkeypatch, failures: int) -> FailFirst:
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import S3Backend

    return FailFirst(
        monkeypatch,
        S3Backend,
        "put_object",
        failures,
        lambda: S3ClientError("SlowDown", "Please reduce your request rate."),
    )


@pytest.fixture(autouse=True)
def _no_backoff_sleep(monkeypatch):
    # botocore's exponential backoff would make these tests slow; the attempts are what we test.
    monkeypatch.setattr("botocore.retries.standard.time.sleep", lambda _s: None, raising=False)
    monkeypatch.setattr("time.sleep", lambda _s: None)


def test_throttled_sagemaker_and_s3_calls_are_retried(aws, context, monkeypatch):
    version = aws.put("incoming/a.csv", GOOD_CSV)
    start = _throttle(monkeypatch, 2)
    manifest = _slow_down(monkeypatch, 2)  # the manifest write is the S3 PutObject here
    result = handler("data_arrival")(s3_event("incoming/a.csv", version, len(GOOD_CSV)), context)
    assert result["status"] == "started"
    assert start.calls == 3 and manifest.calls == 3
    assert len(aws.executions()) == 1


def test_persistent_failure_raises_releases_guard_and_allows_redelivery(aws, context, monkeypatch):
    version = aws.put("incoming/a.csv", GOOD_CSV)
    event = s3_event("incoming/a.csv", version, len(GOOD_CSV))
    # moto answers errors with HTTP 400, so a persistent throttle stands in for a 5xx outage
    failing = _throttle(monkeypatch, 100)
    with pytest.raises(ClientError):
        handler("data_arrival")(event, context)
    assert failing.calls == 6  # the first attempt + max_attempts (5) retries
    monkeypatch.undo()
    assert read_guard(load_settings(DataArrivalSettings)) is None
    assert aws.executions() == []
    # the idempotency record went with the failure: the redelivered event starts the run
    assert handler("data_arrival")(event, context)["status"] == "started"
    assert len(aws.executions()) == 1


def test_persistent_s3_failure_raises(aws, context, monkeypatch):
    version = aws.put("incoming/a.csv", GOOD_CSV)
    failing = _slow_down(monkeypatch, 100)
    with pytest.raises(ClientError):
        handler("data_arrival")(s3_event("incoming/a.csv", version, len(GOOD_CSV)), context)
    assert failing.calls == 6
    assert aws.executions() == []


def test_a_copy_delivered_while_the_first_runs_is_ignored_not_failed(aws, context, monkeypatch):
    """EventBridge may deliver an event twice at once: the copy that finds the first in
    progress returns instead of failing (an error would count toward the errors alarm)."""
    import threading

    from functions.data_arrival import logic

    version = aws.put("incoming/a.csv", GOOD_CSV)
    event = s3_event("incoming/a.csv", version, len(GOOD_CSV))
    entered, release = threading.Event(), threading.Event()
    original = logic._head

    def slow_head(arrival):
        entered.set()
        release.wait(10)
        return original(arrival)

    monkeypatch.setattr(logic, "_head", slow_head)
    first: dict = {}
    worker = threading.Thread(target=lambda: first.update(handler("data_arrival")(event, context)))
    worker.start()
    assert entered.wait(10)
    duplicate = handler("data_arrival")(event, context)
    release.set()
    worker.join(10)
    assert duplicate["status"] == "ignored" and duplicate["reason"] == "duplicate_in_progress"
    assert first["status"] == "started"
    assert len(aws.executions()) == 1
