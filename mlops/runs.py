"""Training runs as the `mlops` command shows them: newest first, each with what started it, how
many data objects its manifest names (and capture and ground-truth objects, with labelled
traffic), and how it ended (the failing step and its message).

Everything is read from SageMaker's record of the run: its parameters (`TriggerEventType`,
`DataManifestUri`, set by whoever started it, functions/shared/runs.py) and its steps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

# What a run started by hand (the pipeline's parameter defaults, or none given) shows as trigger.
UNKNOWN = "-"


@dataclass(frozen=True)
class Run:
    execution_arn: str
    started: datetime
    status: str
    trigger: str = UNKNOWN
    manifest_objects: int | None = None
    # (capture objects, ground-truth objects) its manifest names; None without labelled traffic
    labelled_objects: tuple[int, int] | None = None
    failed_step: str | None = None
    failure: str | None = None
    registered: str | None = None  # the model package a successful run registered

    @property
    def execution_id(self) -> str:
        return self.execution_arn.rsplit("/", 1)[-1]

    @property
    def outcome(self) -> str:
        if self.status == "Failed":
            where = f" at {self.failed_step}" if self.failed_step else ""
            return f"Failed{where}: {self.failure or 'no reason given'}"
        if self.status == "Succeeded" and self.registered:
            return f"Succeeded, registered {self.registered.rsplit('/', 1)[-1]}"
        return self.status


def recent_runs(sagemaker: Any, pipeline: str, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` execution summaries, newest first.

    Sorted here too: ListPipelineExecutions sorts by SortBy/SortOrder in SageMaker
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListPipelineExecutions.html),
    but not every implementation of the API does (moto returns them oldest first).
    """
    summaries: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "PipelineName": pipeline,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": min(max(limit, 1), 100),
    }
    while True:
        page = sagemaker.list_pipeline_executions(**kwargs)
        summaries.extend(page.get("PipelineExecutionSummaries", []))
        if "NextToken" not in page or len(summaries) >= limit:
            break
        kwargs["NextToken"] = page["NextToken"]
    summaries.sort(key=lambda s: s["StartTime"], reverse=True)
    return summaries[:limit]


def describe_run(sagemaker: Any, s3: Any, summary: dict[str, Any], *, details: bool) -> Run:
    """One run; with `details`, its trigger and manifest size too (two more calls)."""
    arn = summary["PipelineExecutionArn"]
    status = summary["PipelineExecutionStatus"]
    step, reason, registered = _steps(sagemaker, arn)
    if status == "Failed" and reason is None:
        reason = summary.get("PipelineExecutionFailureReason")
    trigger, objects, labelled = UNKNOWN, None, None
    if details:
        params = _parameters(sagemaker, arn)
        trigger = params.get("TriggerEventType") or UNKNOWN
        manifest = read_manifest(s3, params.get("DataManifestUri", ""))
        objects = manifest_size(manifest)
        labelled = labelled_size(manifest)
    return Run(
        execution_arn=arn,
        started=summary["StartTime"],
        status=status,
        trigger=trigger,
        manifest_objects=objects,
        labelled_objects=labelled,
        failed_step=step,
        failure=reason,
        registered=registered,
    )


def read_manifest(s3: Any, uri: str) -> dict[str, Any] | None:
    """The run's manifest; None when it has none (a run started by hand on a prefix) or it
    cannot be read."""
    if not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[len("s3://") :].partition("/")
    try:
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except (BotoCoreError, ClientError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def manifest_size(manifest: dict[str, Any] | None) -> int | None:
    """How many data objects the manifest names."""
    objects = (manifest or {}).get("objects")
    return len(objects) if isinstance(objects, list) else None


def labelled_size(manifest: dict[str, Any] | None) -> tuple[int, int] | None:
    """How many capture and ground-truth objects its labelled traffic names
    (retrain.labelled_traffic); None when the run took none."""
    traffic = (manifest or {}).get("labelled_traffic")
    if not isinstance(traffic, dict):
        return None
    return len(traffic.get("capture") or []), len(traffic.get("ground_truth") or [])


def _parameters(sagemaker: Any, arn: str) -> dict[str, str]:
    out: dict[str, str] = {}
    kwargs: dict[str, Any] = {"PipelineExecutionArn": arn}
    while True:
        page = sagemaker.list_pipeline_parameters_for_execution(**kwargs)
        out.update({p["Name"]: str(p["Value"]) for p in page.get("PipelineParameters") or []})
        if "NextToken" not in page:
            return out
        kwargs["NextToken"] = page["NextToken"]


def _steps(sagemaker: Any, arn: str) -> tuple[str | None, str | None, str | None]:
    """(failed step, its FailureReason, registered model package ARN) from the run's steps."""
    try:
        steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn).get(
            "PipelineExecutionSteps", []
        )
    # Not every implementation lists steps: moto does not (NotImplementedError in process).
    except (BotoCoreError, ClientError, NotImplementedError):
        return None, None, None
    failed = next((s for s in steps if s.get("StepStatus") == "Failed"), None)
    registered = next(
        (
            s["Metadata"]["RegisterModel"]["Arn"]
            for s in steps
            if s.get("StepStatus") == "Succeeded" and "RegisterModel" in (s.get("Metadata") or {})
        ),
        None,
    )
    if failed is None:
        return None, None, registered
    return failed["StepName"], failed.get("FailureReason"), registered
