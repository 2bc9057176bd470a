"""`mlops local up`: the runtime in the foreground, for your own tools.

Every AWS service of the stack answers on one URL, so the AWS CLI and boto3 work unchanged:

    aws --endpoint-url http://127.0.0.1:4566 s3 cp data.csv s3://<data bucket>/incoming/
    boto3.client("sagemaker", endpoint_url=...).update_model_package(..., "Approved")
    boto3.client("sagemaker-runtime", endpoint_url=...).invoke_endpoint(...)
"""

from __future__ import annotations

import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from emulator.bus import AT_LEAST_ONCE, EXACTLY_ONCE
from emulator.demo import handler_logs_to, render_timeline
from emulator.runtime import CDK_OUT, LocalRuntime, load_stack

READY = "mlops local runtime ready"


def banner(runtime: LocalRuntime) -> list[str]:
    url = runtime.cloud.endpoint_url
    return [
        f"{READY} at {url}",
        f"  data bucket       {runtime.data_bucket}  (upload under incoming/ to train)",
        f"  artifacts bucket  {runtime.artifacts_bucket}",
        f"  model group       {runtime.model_group}  (approve: mlops approve --endpoint-url {url})",
        f"  endpoint          {runtime.endpoint_name}  (sagemaker-runtime on the same URL)",
        "  credentials       any key you choose acts as the account's administrator; "
        "region us-east-1",
        f"  function logs     {runtime.log_dir}",
        "  Ctrl-C stops it; every event the loop handles is printed below.",
    ]


def serve(
    runtime: LocalRuntime,
    out: Callable[[str], None],
    stop: threading.Event,
    *,
    alarm_every: float,
    monitor_every: float | None,
) -> None:
    """Drive time: schedules, alarm evaluation and capture flushes, until `stop` is set."""
    shown = 0
    last_alarms = last_monitor = time.monotonic()
    monitoring_rule = runtime.monitoring_rule
    while not stop.wait(1.0):
        now = time.monotonic()
        runtime.bus.tick()
        if now - last_alarms >= alarm_every:
            runtime.endpoints.flush()
            runtime.alarms.evaluate()
            last_alarms = now
        if monitor_every and now - last_monitor >= monitor_every:
            runtime.endpoints.flush()
            runtime.bus.run_schedule(monitoring_rule)
            last_monitor = now
        entries = list(runtime.bus.timeline)
        for line in render_timeline(entries[shown:]):
            out(line)
        shown = len(entries)


def main(
    config: Path,
    *,
    port: int,
    alarm_every: float,
    monitor_every: float | None,
    exactly_once: bool = False,
    cdk_out: Path = CDK_OUT,
    state_dir: Path = Path(".mlops"),
) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stack = load_stack(config, cdk_out)
    # Step processes run in their own folders: every path handed to them must be absolute.
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    with (
        handler_logs_to(state_dir / "local.log") as out,
        tempfile.TemporaryDirectory(dir=state_dir, prefix="run-") as scratch,
    ):
        with LocalRuntime(
            stack=stack,
            scratch_dir=Path(scratch),
            port=port,
            time_scale=0.005,
            log_dir=state_dir / "logs",
            delivery=EXACTLY_ONCE if exactly_once else AT_LEAST_ONCE,
        ) as runtime:
            for line in banner(runtime):
                out(line)
            serve(runtime, out, stop, alarm_every=alarm_every, monitor_every=monitor_every)
        out("stopped")
    return 0
