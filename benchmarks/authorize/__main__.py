"""python -m benchmarks.authorize [--config config/dev.json] [--repeat N]

Deploys the stack in a local runtime, then sends one batch of representative calls, each signed
by the stack role that makes it in the loop (the functions', the pipeline's, the model's), and
measures what the runtime's IAM adds per request:

- the authorizer itself: the median time of one authorization over the batch's requests, as
  the front calls it (policies cached, as after the first call of a role);
- end to end: the median wall time of each call through the front with enforcement on and off,
  interleaved, and their ratio.

Target: median authorization <= 1 ms. The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from emulator.bus import EXACTLY_ONCE
from emulator.runtime import LocalRuntime, load_stack

TARGET_MS = 1.0


def _role_clients(runtime: LocalRuntime) -> dict[str, Callable[[str], Any]]:
    lam = runtime.cloud.client("lambda")
    roles = {}
    for name in runtime.deployment.of_type("AWS::Lambda::Function").values():
        roles[name.removeprefix(f"{runtime.stack.name}-")] = lam.get_function_configuration(
            FunctionName=name
        )["Role"]
    for name in runtime.deployment.of_type("AWS::IAM::Role").values():
        if name.endswith(("-sagemaker", "-model")):
            roles[name.rsplit("-", 1)[-1]] = f"arn:aws:iam::{runtime.cloud.account}:role/{name}"
    out = {}
    for short, arn in roles.items():
        credentials = runtime.cloud.assume_role(arn, f"bench-{short}")
        out[short] = lambda service, c=credentials: runtime.cloud.client(service, c)
    return out


def batch(runtime: LocalRuntime) -> list[tuple[str, Callable[[], Any]]]:
    """(label, call) of the loop's typical requests; every one authorized in the stack."""
    as_role = _role_clients(runtime)
    data, artifacts = runtime.data_bucket, runtime.artifacts_bucket
    table = runtime.function_env("data_arrival")["STATE_TABLE"]
    runtime.cloud.client("s3").put_object(Bucket=data, Key="incoming/bench.csv", Body=b"a\n1\n")
    runtime.cloud.client("s3").put_object(Bucket=artifacts, Key="live/bench.json", Body=b"{}")
    group = runtime.model_group
    return [
        (
            "data-arrival s3:GetObject",
            lambda: as_role["data-arrival"]("s3").get_object(Bucket=data, Key="incoming/bench.csv"),
        ),
        (
            "data-arrival s3:ListBucket",
            lambda: as_role["data-arrival"]("s3").list_objects_v2(Bucket=data, Prefix="incoming/"),
        ),
        (
            "data-arrival s3:PutObject",
            lambda: as_role["data-arrival"]("s3").put_object(
                Bucket=artifacts, Key="manifests/bench.json", Body=b"{}"
            ),
        ),
        (
            "data-arrival dynamodb:GetItem",
            lambda: as_role["data-arrival"]("dynamodb").get_item(
                TableName=table, Key={"pk": {"S": "bench"}, "sk": {"S": "bench"}}
            ),
        ),
        (
            "deploy s3:GetObject",
            lambda: as_role["deploy"]("s3").get_object(Bucket=artifacts, Key="live/bench.json"),
        ),
        (
            "deploy sagemaker:ListModelPackages",
            lambda: as_role["deploy"]("sagemaker").list_model_packages(ModelPackageGroupName=group),
        ),
        (
            "deploy sagemaker:DescribeEndpoint",
            lambda: as_role["deploy"]("sagemaker").describe_endpoint(
                EndpointName=runtime.endpoint_name
            ),
        ),
        (
            "sagemaker cloudwatch:PutMetricData",
            lambda: as_role["sagemaker"]("cloudwatch").put_metric_data(
                Namespace=f"{runtime.stack.name}/Drift",
                MetricData=[{"MetricName": "bench", "Value": 1.0}],
            ),
        ),
        (
            "sagemaker s3:ListBucket (prefix)",
            lambda: as_role["sagemaker"]("s3").list_objects_v2(Bucket=data, Prefix="incoming/"),
        ),
        (
            "model s3:PutObject",
            lambda: as_role["model"]("s3").put_object(
                Bucket=data, Key="capture/bench.jsonl", Body=b"{}"
            ),
        ),
    ]


def _call(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    try:
        fn()
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in ("AccessDenied", "AccessDeniedException", "AuthorizationError"):
            raise
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config/dev.json")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    stack = load_stack(Path(args.config))
    with (
        tempfile.TemporaryDirectory(prefix="bench-authorize-") as scratch,
        LocalRuntime(stack=stack, scratch_dir=Path(scratch), delivery=EXACTLY_ONCE) as runtime,
    ):
        front, authorizer = runtime.cloud.front, runtime.authorizer
        assert authorizer is not None
        calls = batch(runtime)
        captured: list[Any] = []

        def capture(request: Any) -> Any:
            captured.append(request)
            return authorizer(request)

        front.authorize = capture
        for _, fn in calls:  # warm: policies read and cached, clients built
            _call(fn)
        front.authorize = authorizer
        requests = [r for r in captured if runtime.cloud.principal(r.access_key)]
        direct = []
        for _ in range(args.repeat):
            for request in requests:
                started = time.perf_counter()
                refused = authorizer(request)
                direct.append(time.perf_counter() - started)
                assert refused is None, refused.message
        on: list[float] = []
        off: list[float] = []
        for _ in range(args.repeat):
            for _, fn in calls:
                front.authorize = authorizer
                on.append(_call(fn))
                front.authorize = None
                off.append(_call(fn))
        front.authorize = authorizer
    figures = {
        "requests": len(requests),
        "authorize_median_ms": round(statistics.median(direct) * 1000, 3),
        "authorize_p90_ms": round(statistics.quantiles(direct, n=10)[-1] * 1000, 3),
        "call_on_median_ms": round(statistics.median(on) * 1000, 3),
        "call_off_median_ms": round(statistics.median(off) * 1000, 3),
    }
    figures["overhead_median_ms"] = round(
        figures["call_on_median_ms"] - figures["call_off_median_ms"], 3
    )
    figures["ratio_on_off"] = round(figures["call_on_median_ms"] / figures["call_off_median_ms"], 3)
    verdict = "met" if figures["authorize_median_ms"] <= TARGET_MS else "MISSED"
    print(
        f"authorizer: median {figures['authorize_median_ms']} ms per request "
        f"(p90 {figures['authorize_p90_ms']} ms) over {len(requests)} requests x {args.repeat}"
        f"  target <= {TARGET_MS} ms: {verdict}"
    )
    print(
        f"end to end: median {figures['call_on_median_ms']} ms on, "
        f"{figures['call_off_median_ms']} ms off (overhead {figures['overhead_median_ms']} ms, "
        f"ratio {figures['ratio_on_off']})"
    )
    print(json.dumps(figures))
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    raise SystemExit(main())
