"""python -m benchmarks.cold_start [--repeat N]

Each measurement is a fresh interpreter that imports one handler module (what Lambda's init
does) with the environment the stack gives that function (infra/contracts.py); the baseline, in
the same run, is `import boto3; boto3.client("s3")`. Prints the median wall time of each and its
ratio to the baseline. Target: every handler <= 1.5x. Tracing is left enabled, as deployed (the
X-Ray SDK import is part of a real cold start).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = 1.5
HANDLERS = ("data_arrival", "pipeline_events", "deploy", "drift_retrain")
BASELINE = 'import boto3; boto3.client("s3")'

_CONFIG = ROOT / "config" / "dev.json"
_ACCOUNT, _REGION = "123456789012", "us-east-1"


@functools.cache
def function_env(name: str) -> dict[str, str]:
    """What Lambda gives the deployed function `name`: its reserved runtime variables, then
    the environment the stack produces for it (infra/contracts.py).

    The runtime variables matter: libraries read them to know they run in Lambda (the X-Ray SDK,
    for one, skips its centralized sampler and its two botocore clients when LAMBDA_TASK_ROOT is
    set), so leaving them out would time a cold start no function has."""
    from infra.config import load_config
    from infra.contracts import settings_in_account

    config = load_config(_CONFIG)
    function_name = config.names.function(name)
    return {
        "LAMBDA_TASK_ROOT": str(ROOT),
        "LAMBDA_RUNTIME_DIR": str(ROOT),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": config.names.log_group(name),
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_DEFAULT_REGION": _REGION,
        "AWS_REGION": _REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        **settings_in_account(config, account=_ACCOUNT, region=_REGION)[name].to_env(),
    }


_TIMED = """
import time
_t = time.perf_counter()
{code}
print(time.perf_counter() - _t)
"""


def run_as_lambda(code: str, function: str = "deploy") -> str:
    """The last line code prints, run in a fresh interpreter with `function`'s environment."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **function_env(function)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def _once(code: str, function: str) -> float:
    return float(run_as_lambda(_TIMED.format(code=code), function))


def measure(code: str, repeat: int, function: str = "deploy") -> float:
    _once(code, function)  # warm the OS page cache and __pycache__, like a provisioned image
    return statistics.median(_once(code, function) for _ in range(repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    baseline = measure(BASELINE, args.repeat)
    print(f"{'module':<40} {'median ms':>10} {'x baseline':>11}")
    print(f"{'baseline: boto3.client(s3)':<40} {baseline * 1000:>10.1f} {1.0:>11.2f}")
    worst = 0.0
    for name in HANDLERS:
        seconds = measure(f"import functions.{name}.handler", args.repeat, name)
        ratio = seconds / baseline
        worst = max(worst, ratio)
        print(f"{'functions.' + name + '.handler':<40} {seconds * 1000:>10.1f} {ratio:>11.2f}")
    verdict = "ok" if worst <= TARGET else "over target"
    print(f"worst ratio {worst:.2f} (target <= {TARGET}): {verdict}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
