"""python -m benchmarks.cold_start [--repeat N]

Each measurement is a fresh interpreter that imports one handler module (what Lambda's init
does) with the function's environment from a fixed dict; the baseline, in the same run, is
`import boto3; boto3.client("s3")`. Prints the median wall time of each and its ratio to the
baseline. Target: every handler <= 1.5x. Tracing is left enabled, as deployed (the X-Ray SDK
import is part of a real cold start).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = 1.5
HANDLERS = ("data_arrival", "pipeline_events", "deploy", "drift_retrain")
BASELINE = 'import boto3; boto3.client("s3")'

_PREFIX = "mlops-dev"
# Lambda's reserved runtime variables come first: libraries read them to know they run in Lambda
# (the X-Ray SDK, for one, skips its centralized sampler and its two botocore clients when
# LAMBDA_TASK_ROOT is set), so leaving them out would time a cold start no function has.
RUNTIME_ENV = {
    "LAMBDA_TASK_ROOT": str(ROOT),
    "LAMBDA_RUNTIME_DIR": str(ROOT),
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{_PREFIX}-bench",
}
ENV = {
    **RUNTIME_ENV,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_LAMBDA_FUNCTION_NAME": f"{_PREFIX}-bench",
    "POWERTOOLS_SERVICE_NAME": f"{_PREFIX}-bench",
    "POWERTOOLS_METRICS_NAMESPACE": f"{_PREFIX}/Functions",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "STATE_TABLE": f"{_PREFIX}-state",
    "TOPIC_ARN": f"arn:aws:sns:us-east-1:123456789012:{_PREFIX}-notifications",
    "DATA_BUCKET": f"{_PREFIX}-data",
    "ARTIFACTS_BUCKET": f"{_PREFIX}-artifacts",
    "INCOMING_PREFIX": "incoming/",
    "QUARANTINE_PREFIX": "quarantine/",
    "TRAINING_PIPELINE_NAME": f"{_PREFIX}-training",
    "SCHEMA_COLUMNS": '["a", "b", "target"]',
    "ALLOWED_EXTENSIONS": '[".csv"]',
    "ALLOW_GZIP": "true",
    "MAX_OBJECT_BYTES": "1073741824",
    "IDEMPOTENCY_TTL_SECONDS": "86400",
    "MODEL_PACKAGE_GROUP_NAME": f"{_PREFIX}-models",
    "ENDPOINT_NAME": f"{_PREFIX}-endpoint",
    "MODEL_ROLE_ARN": "arn:aws:iam::123456789012:role/bench",
    "INFERENCE_INSTANCE_TYPE": "ml.t2.medium",
    "INFERENCE_INSTANCE_COUNT": "1",
    "CAPTURE_S3_URI": f"s3://{_PREFIX}-data/capture/{_PREFIX}-endpoint",
    "CAPTURE_SAMPLING_PERCENT": "100",
    "CAPTURE_KMS_KEY_ARN": "",
    "CANARY_PERCENT": "10",
    "CANARY_WAIT_SECONDS": "300",
    "ROLLBACK_ALARM_NAMES": f'["{_PREFIX}-endpoint-5xx"]',
    "DRIFT_ALARM_NAMES": f'["{_PREFIX}-drift-score", "{_PREFIX}-drift-a"]',
    "RETRAIN_COOLDOWN_SECONDS": "21600",
    "RETRAIN_DAILY_CAP": "3",
}

_TIMED = """
import time
_t = time.perf_counter()
{code}
print(time.perf_counter() - _t)
"""


def run_as_lambda(code: str) -> str:
    """The last line code prints, run in a fresh interpreter with the function's environment."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **ENV}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def _once(code: str) -> float:
    return float(run_as_lambda(_TIMED.format(code=code)))


def measure(code: str, repeat: int) -> float:
    _once(code)  # warm the OS page cache and __pycache__, like a provisioned runtime image
    return statistics.median(_once(code) for _ in range(repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    baseline = measure(BASELINE, args.repeat)
    print(f"{'module':<40} {'median ms':>10} {'x baseline':>11}")
    print(f"{'baseline: boto3.client(s3)':<40} {baseline * 1000:>10.1f} {1.0:>11.2f}")
    worst = 0.0
    for name in HANDLERS:
        seconds = measure(f"import functions.{name}.handler", args.repeat)
        ratio = seconds / baseline
        worst = max(worst, ratio)
        print(f"{'functions.' + name + '.handler':<40} {seconds * 1000:>10.1f} {ratio:>11.2f}")
    verdict = "ok" if worst <= TARGET else "over target"
    print(f"worst ratio {worst:.2f} (target <= {TARGET}): {verdict}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
