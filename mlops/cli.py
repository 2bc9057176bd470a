"""The `mlops` command. `status`, `runs`, `approve` and `lineage` work against a real AWS account
with the user's credentials, or against the local runtime with `--endpoint-url`, from any folder
(mlops/stack.py finds the stack); `demo` and `local up` run the local runtime (the `local`
install extra).

    mlops status
    mlops runs --limit 10
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

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from infra.config import ConfigError
from mlops.lineage import LineageError, lineage, parse_at, render
from mlops.runs import Run, describe_run, recent_runs
from mlops.stack import DEFAULT_CONFIG, Stack, StackError, find_stack


def _clients(args: argparse.Namespace) -> tuple[Any, Stack]:
    """A client factory for AWS or the local runtime, and the stack it talks to."""
    import boto3

    session = boto3.session.Session(region_name=args.region)
    endpoint = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}

    def make(service: str) -> Any:
        return session.client(service, **endpoint)

    stack = find_stack(
        config=args.config,
        endpoint_url=args.endpoint_url,
        make=make,
        account=lambda: make("sts").get_caller_identity()["Account"],
        region=session.region_name or "us-east-1",
    )
    return make, stack


def cmd_status(args: argparse.Namespace) -> int:
    make, stack = _clients(args)
    sm, s3 = make("sagemaker"), make("s3")
    print(f"Stack {stack.prefix} (names from {stack.source})")
    print(f"Training runs ({stack.training_pipeline}), newest first:")
    summaries = recent_runs(sm, stack.training_pipeline, limit=5)
    for summary in summaries:
        run = describe_run(sm, s3, summary, details=False)
        print(f"  {run.started:%Y-%m-%d %H:%M:%S}  {run.execution_id}  {run.outcome}")
    if not summaries:
        print("  none yet")
    print(f"Models ({stack.model_group}):")
    packages = sm.list_model_packages(
        ModelPackageGroupName=stack.model_group,
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
        endpoint = sm.describe_endpoint(EndpointName=stack.endpoint)
        print(
            f"Endpoint {stack.endpoint}: {endpoint['EndpointStatus']} "
            f"({endpoint['EndpointConfigName']})"
        )
    except sm.exceptions.ClientError:
        print(f"Endpoint {stack.endpoint}: not deployed yet")
    alarming = [
        name
        + (f" (feature {stack.alarm_features[name]!r})" if stack.alarm_features.get(name) else "")
        for name in drift_alarms_in_alarm(make("cloudwatch"), stack)
    ]
    print(f"Drift alarms in ALARM: {', '.join(alarming) or 'none'}")
    return 0


def drift_alarms_in_alarm(cloudwatch: Any, stack: Stack) -> list[str]:
    """The stack's drift alarms whose state is ALARM.

    The state is checked here, not left to DescribeAlarms' StateValue filter: moto ignores that
    filter when AlarmNamePrefix is given, and a false "in ALARM" is worse than none.
    """
    wanted = set(stack.drift_alarms)
    found = []
    pages = cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=stack.drift_alarm_prefix, AlarmTypes=["MetricAlarm"], StateValue="ALARM"
    )
    for page in pages:
        for alarm in page.get("MetricAlarms", []):
            if alarm["AlarmName"] in wanted and alarm.get("StateValue") == "ALARM":
                found.append(alarm["AlarmName"])
    return sorted(found)


def cmd_runs(args: argparse.Namespace) -> int:
    make, stack = _clients(args)
    sm, s3 = make("sagemaker"), make("s3")
    runs = [
        describe_run(sm, s3, summary, details=True)
        for summary in recent_runs(sm, stack.training_pipeline, limit=args.limit)
    ]
    if args.json:
        print(json.dumps([_run_record(r) for r in runs], indent=2))
        return 0
    print(f"Training runs of {stack.training_pipeline}, newest first:")
    print(
        f"  {'started':<19}  {'execution':<12}  {'trigger':<24}  {'objects':>7}  "
        f"{'capture+labels':>14}  outcome"
    )
    for run in runs:
        objects = "-" if run.manifest_objects is None else str(run.manifest_objects)
        labelled = "-" if run.labelled_objects is None else "+".join(map(str, run.labelled_objects))
        print(
            f"  {run.started:%Y-%m-%d %H:%M:%S}  {run.execution_id:<12}  {run.trigger:<24}  "
            f"{objects:>7}  {labelled:>14}  {run.outcome}"
        )
    if not runs:
        print("  none yet")
    return 0


def _run_record(run: Run) -> dict[str, Any]:
    return {
        "execution_arn": run.execution_arn,
        "started": run.started.isoformat(),
        "status": run.status,
        "trigger": run.trigger,
        "manifest_objects": run.manifest_objects,
        "labelled_traffic": None
        if run.labelled_objects is None
        else dict(
            zip(("capture_objects", "ground_truth_objects"), run.labelled_objects, strict=True)
        ),
        "failed_step": run.failed_step,
        "failure": run.failure,
        "registered": run.registered,
        "outcome": run.outcome,
    }


def cmd_approve(args: argparse.Namespace) -> int:
    make, stack = _clients(args)
    sm = make("sagemaker")
    packages = sm.list_model_packages(
        ModelPackageGroupName=stack.model_group,
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
        print(f"error: no {wanted} in {stack.model_group}", file=sys.stderr)
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
    make, stack = _clients(args)
    try:
        answer = lineage(
            s3=make("s3"),
            sagemaker=make("sagemaker"),
            artifacts_bucket=stack.artifacts_bucket,
            endpoint_name=args.endpoint or stack.endpoint,
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
    common.add_argument(
        "--config",
        help="the stage's config file (default: the local runtime's stack with --endpoint-url, "
        f"else {DEFAULT_CONFIG} of the project folder you are in)",
    )
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
    runs = commands.add_parser(
        "runs", parents=[common], help="training runs: trigger, data objects, outcome"
    )
    runs.add_argument("--limit", type=int, default=20, help="how many of the newest runs")
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(run=cmd_runs)
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
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except EndpointConnectionError as error:
        hint = " (is `mlops local up` running?)" if args.endpoint_url else ""
        print(f"error: {error}{hint}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"error: talking to {args.endpoint_url or 'AWS'}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
