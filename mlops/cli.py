"""The `mlops` command. `status`, `approve` and `lineage` work against a real AWS account with
the user's credentials, or against the local runtime with `--endpoint-url`; `demo` and
`local up` run the local runtime (the `local` install extra).

    mlops status
    mlops approve --version 3
    mlops lineage --endpoint mlops-dev-endpoint --at 2026-11-21T10:00:00Z
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra.config import ConfigError, load_config
from infra.names import PhysicalNames
from mlops.lineage import LineageError, lineage, parse_at, render

DEFAULT_CONFIG = Path("config/dev.json")


def _clients(args: argparse.Namespace) -> tuple[Any, PhysicalNames, str]:
    """A client factory for AWS or the local runtime, the stage's names, its artifacts bucket."""
    import boto3

    session = boto3.session.Session(region_name=args.region)
    endpoint = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}

    def make(service: str) -> Any:
        return session.client(service, **endpoint)

    names = load_config(Path(args.config)).names
    account = make("sts").get_caller_identity()["Account"]
    region = session.region_name or "us-east-1"
    return make, names, names.bucket("artifacts", account, region)


def cmd_status(args: argparse.Namespace) -> int:
    make, names, _ = _clients(args)
    sm = make("sagemaker")
    print(f"Training runs ({names.training_pipeline}):")
    runs = sm.list_pipeline_executions(
        PipelineName=names.training_pipeline,
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=5,
    ).get("PipelineExecutionSummaries", [])
    for run in runs:
        print(
            f"  {run['PipelineExecutionStatus']:<10} {run['StartTime']}  "
            f"{run['PipelineExecutionArn'].rsplit('/', 1)[-1]}"
        )
    print(f"Models ({names.model_group}):")
    packages = sm.list_model_packages(
        ModelPackageGroupName=names.model_group,
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=10,
    ).get("ModelPackageSummaryList", [])
    for package in packages:
        print(
            f"  v{package.get('ModelPackageVersion', '?'):<4} "
            f"{package.get('ModelApprovalStatus', '?'):<22} {package['CreationTime']}"
        )
    try:
        endpoint = sm.describe_endpoint(EndpointName=names.endpoint)
        print(
            f"Endpoint {names.endpoint}: {endpoint['EndpointStatus']} "
            f"({endpoint['EndpointConfigName']})"
        )
    except sm.exceptions.ClientError:
        print(f"Endpoint {names.endpoint}: not deployed yet")
    config = load_config(Path(args.config))
    drift_alarms = config.drift_alarm_names
    feature_of = config.names.drift_alarm_features(f.name for f in config.dataset.features)
    # At most 100 names per call; the drift rule's pattern size keeps the list shorter.
    alarms = (
        make("cloudwatch")
        .describe_alarms(AlarmNames=drift_alarms[:100], StateValue="ALARM")
        .get("MetricAlarms", [])
    )
    # Filtered here too: not every implementation of the API applies StateValue to names.
    alarming = [
        a["AlarmName"]
        + (f" (feature {feature_of[a['AlarmName']]!r})" if feature_of.get(a["AlarmName"]) else "")
        for a in alarms
        if a.get("StateValue") == "ALARM"
    ]
    print(f"Drift alarms in ALARM: {', '.join(alarming) or 'none'}")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    make, names, _ = _clients(args)
    sm = make("sagemaker")
    packages = sm.list_model_packages(
        ModelPackageGroupName=names.model_group,
        SortBy="CreationTime",
        SortOrder="Descending",
    ).get("ModelPackageSummaryList", [])
    if args.version is None:
        candidates = [
            p for p in packages if p.get("ModelApprovalStatus") == "PendingManualApproval"
        ]
    else:
        candidates = [p for p in packages if p.get("ModelPackageVersion") == args.version]
    if not candidates:
        wanted = f"version {args.version}" if args.version else "model pending approval"
        print(f"error: no {wanted} in {names.model_group}", file=sys.stderr)
        return 1
    arn = candidates[0]["ModelPackageArn"]
    # Exactly what SageMaker Studio does; the approval event deploys the model.
    sm.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="Approved",
        ApprovalDescription=args.description,
    )
    print(f"approved {arn}")
    return 0


def cmd_lineage(args: argparse.Namespace) -> int:
    make, names, artifacts_bucket = _clients(args)
    try:
        answer = lineage(
            s3=make("s3"),
            sagemaker=make("sagemaker"),
            artifacts_bucket=artifacts_bucket,
            endpoint_name=args.endpoint or names.endpoint,
            at=parse_at(args.at),
        )
    except (LineageError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(answer.to_dict(), indent=2) if args.json else render(answer))
    return 0


def _local_runtime() -> None:
    try:
        import moto  # noqa: F401
    except ImportError:
        raise SystemExit(
            "error: the local runtime is not installed: pip install 'serverless-mlops[local]'"
        ) from None


def cmd_demo(args: argparse.Namespace) -> int:
    _local_runtime()
    from emulator.demo import main as demo

    return demo(Path(args.config))


def cmd_local_up(args: argparse.Namespace) -> int:
    _local_runtime()
    from emulator.local_up import main as local_up

    return local_up(
        Path(args.config),
        port=args.port,
        alarm_every=args.alarm_every,
        monitor_every=args.monitor_every,
        exactly_once=args.exactly_once,
        cdk_out=Path(args.cdk_out),
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="mlops", description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=str(DEFAULT_CONFIG), help="the stage's config file")
    common.add_argument("--endpoint-url", help="the local runtime's URL; omit for AWS")
    common.add_argument("--region", help="AWS region (default: from your AWS config)")
    commands = root.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="the whole loop locally on the bundled dataset")
    demo.add_argument("--config", default=str(DEFAULT_CONFIG), help="the stage's config file")
    demo.set_defaults(run=cmd_demo)
    local = commands.add_parser("local", help="the local runtime").add_subparsers(
        dest="local_command", required=True
    )
    up = local.add_parser("up", help="run the loop locally in the foreground")
    up.add_argument("--config", default=str(DEFAULT_CONFIG), help="the stage's config file")
    up.add_argument("--port", type=int, default=4566, help="0 picks a free port")
    up.add_argument("--cdk-out", default="cdk.out", help="where the synthesized stack is")
    up.add_argument(
        "--alarm-every", type=float, default=60.0, help="seconds between alarm evaluations"
    )
    up.add_argument(
        "--monitor-every",
        type=float,
        default=None,
        help="run the monitoring schedule every N seconds (default: its own rate)",
    )
    up.add_argument(
        "--exactly-once",
        action="store_true",
        help="deliver each event once and in order (default: at least once, as EventBridge)",
    )
    up.set_defaults(run=cmd_local_up)
    status = commands.add_parser("status", parents=[common], help="runs, models, endpoint, alarms")
    status.set_defaults(run=cmd_status)
    approve = commands.add_parser("approve", parents=[common], help="approve a model version")
    approve.add_argument("--version", type=int, help="default: the newest pending version")
    approve.add_argument("--description", default="approved with mlops approve")
    approve.set_defaults(run=cmd_approve)
    trace = commands.add_parser("lineage", parents=[common], help="what served, trained on what")
    trace.add_argument("--endpoint", help="default: the stage's endpoint")
    trace.add_argument("--at", help="ISO time (default: now)")
    trace.add_argument("--json", action="store_true")
    trace.set_defaults(run=cmd_lineage)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as error:  # the config names every problem; a traceback adds nothing
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
