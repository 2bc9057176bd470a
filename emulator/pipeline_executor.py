"""Running a SageMaker pipeline definition locally: what moto's StartPipelineExecution lacks.

`start` runs the execution in a worker thread: every step once the steps it depends on
succeeded, up to `parallelism` at a time (SageMaker runs a pipeline's DAG in parallel too),
Processing and Training steps as
local processes (`emulator.pipeline_jobs`), Condition and Fail steps evaluated in-process,
RegisterModel steps as a CreateModelPackage call. The executor keeps the execution records the
SageMaker provider answers `DescribePipelineExecution`, `ListPipelineExecutions` and
`ListPipelineExecutionSteps` from, and emits every status change as the AWS event. Jobs and their
S3 transfers run with credentials of the pipeline's role, as SageMaker runs them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulator import pipeline_jobs as jobs
from emulator.aws_events import pipeline_execution_event
from emulator.pipeline_functions import (
    Context,
    DefinitionError,
    UnsupportedError,
    evaluate_condition,
    parameter_values,
    resolve,
    step_references,
)

log = logging.getLogger(__name__)

SUPPORTED_STEPS = ("Processing", "Training", "Condition", "Fail", "RegisterModel")


class StepFailed(Exception):
    """A step failed; the message is its FailureReason."""


@dataclass
class Execution:
    arn: str
    pipeline_arn: str
    role_arn: str
    parameters: dict[str, str]
    display_name: str
    description: str = ""
    status: str = "Executing"
    failure_reason: str | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended: datetime | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    credentials: Any = None

    def describe(self) -> dict[str, Any]:
        """The DescribePipelineExecution answer."""
        out: dict[str, Any] = {
            "PipelineArn": self.pipeline_arn,
            "PipelineExecutionArn": self.arn,
            "PipelineExecutionDisplayName": self.display_name,
            "PipelineExecutionStatus": self.status,
            "PipelineExecutionDescription": self.description,
            "CreationTime": self.started,
            "LastModifiedTime": self.modified,
            "CreatedBy": {},
            "LastModifiedBy": {},
        }
        if self.failure_reason:
            out["FailureReason"] = self.failure_reason
        return out


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _arn_parts(arn: str) -> tuple[str, str]:
    """(region, account) of an ARN."""
    parts = arn.split(":")
    if len(parts) < 6:
        raise DefinitionError(f"not an ARN: {arn!r}")
    return parts[3], parts[4]


class PipelineExecutor:
    def __init__(
        self,
        *,
        cloud: Any,
        scratch_dir: Path,
        emit: Callable[[dict], None],
        code_dir: Path | None = None,
        parallelism: int = 2,
        time_scale: float = 1.0,
        job_startup: float = 120.0,
    ) -> None:
        self.cloud = cloud
        self.scratch_dir = Path(scratch_dir).resolve()
        self.emit = emit
        self.code_dir = code_dir
        self._executions: dict[str, Execution] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.parallelism = parallelism
        self.job_startup = job_startup * time_scale  # typical AWS start-up of a job, scaled

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every running job and wait for the executions to end (as Failed)."""
        self._stop.set()
        for record in self.executions():
            record.done.wait(timeout)

    # -- the seams -------------------------------------------------------------------------

    def start(
        self,
        *,
        pipeline_arn: str,
        execution_arn: str,
        definition: dict,
        parameters: dict[str, str],
        role_arn: str,
        display_name: str | None = None,
        description: str = "",
    ) -> Execution:
        record = Execution(
            arn=execution_arn,
            pipeline_arn=pipeline_arn,
            role_arn=role_arn,
            parameters=dict(parameters),
            display_name=display_name or f"execution-{int(datetime.now(UTC).timestamp() * 1000)}",
            description=description,
        )
        with self._lock:
            if execution_arn in self._executions:
                raise ValueError(f"execution {execution_arn} already started")
            self._executions[execution_arn] = record
        record.credentials = self.cloud.assume_role(role_arn, "SageMaker")
        self._status(record, "Executing", previous=None)
        worker = threading.Thread(
            target=self._run,
            args=(record, copy.deepcopy(definition), dict(parameters)),
            name=f"pipeline-{execution_arn.rsplit('/', 1)[-1]}",
            daemon=True,
        )
        worker.start()
        return record

    def executions(self, pipeline_arn: str | None = None) -> list[Execution]:
        with self._lock:
            return [
                e
                for e in self._executions.values()
                if pipeline_arn is None or e.pipeline_arn.lower() == pipeline_arn.lower()
            ]

    def execution(self, execution_arn: str) -> Execution | None:
        with self._lock:
            return self._executions.get(execution_arn)

    def steps(self, execution_arn: str) -> list[dict]:
        """ListPipelineExecutionSteps' PipelineExecutionSteps: newest first, as AWS sorts them."""
        record = self._record(execution_arn)
        with self._lock:
            items = copy.deepcopy(record.steps)
        return sorted(items, key=lambda s: s["StartTime"], reverse=True)

    def wait(self, execution_arn: str, timeout: float) -> str:
        record = self._record(execution_arn)
        if not record.done.wait(timeout):
            raise TimeoutError(f"execution {execution_arn} still {record.status} after {timeout}s")
        return record.status

    def failure_reason(self, execution_arn: str) -> str | None:
        return self._record(execution_arn).failure_reason

    # -- running ---------------------------------------------------------------------------

    def _record(self, execution_arn: str) -> Execution:
        with self._lock:
            if execution_arn not in self._executions:
                raise KeyError(f"no execution {execution_arn} was started here")
            return self._executions[execution_arn]

    def _run(self, record: Execution, definition: dict, overrides: dict[str, str]) -> None:
        try:
            ctx = self._context(record, definition, overrides)
            self._schedule(record, definition.get("Steps", []), ctx)
        except StepFailed as exc:
            self._finish(record, "Failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - any bug must end the execution, not hang it
            log.exception("pipeline execution %s crashed", record.arn)
            self._finish(record, "Failed", f"{type(exc).__name__}: {exc}")
        else:
            self._finish(record, "Succeeded", None)

    def _context(self, record: Execution, definition: dict, overrides: dict[str, str]) -> Context:
        try:
            values = parameter_values(definition.get("Parameters", []), overrides)
        except DefinitionError as exc:
            raise StepFailed(f"invalid parameters: {exc}") from exc
        execution = {
            "PipelineExecutionArn": record.arn,
            "PipelineExecutionId": record.arn.rsplit("/", 1)[-1],
            "PipelineArn": record.pipeline_arn,
            "PipelineName": record.pipeline_arn.rsplit("/", 1)[-1],
            "StartDateTime": _iso(record.started),
            "CurrentDateTime": _iso(record.started),
        }
        return Context(parameters=values, execution=execution)

    def _step(self, record: Execution, step: dict, ctx: Context) -> list[dict]:
        name, kind = step["Name"], step.get("Type", "")
        item: dict[str, Any] = {
            "StepName": name,
            "StepDisplayName": step.get("DisplayName", name),
            "StepStatus": "Executing",
            "StartTime": datetime.now(UTC),
            "Metadata": {},
        }
        with self._lock:
            record.steps.append(item)
        branch: list[dict] = []
        try:
            if kind not in SUPPORTED_STEPS:
                raise UnsupportedError(f"step type {kind!r} (step {name})")
            branch = self._run_step(record, step, ctx, item)
        except (jobs.JobFailed, DefinitionError, StepFailed) as exc:
            self._end_step(item, "Failed", str(exc))
            raise StepFailed(f"Step {name} failed: {exc}") from exc
        except Exception as exc:
            self._end_step(item, "Failed", f"InternalError: {type(exc).__name__}: {exc}")
            raise
        self._end_step(item, "Succeeded", None)
        return branch

    def _schedule(self, record: Execution, steps: list[dict], ctx: Context) -> None:
        """Run every step whose dependencies succeeded, up to `parallelism` at a time, as
        SageMaker runs a pipeline's DAG; a Condition step adds its chosen branch. The first
        failure stops new steps; the running ones finish, then the execution fails."""
        names = _all_names(steps)
        pending = {s["Name"]: s for s in steps}
        deps = {name: _dependencies(step, names) for name, step in pending.items()}
        order = {name: i for i, name in enumerate(pending)}
        done: set[str] = set()
        failure: BaseException | None = None
        with ThreadPoolExecutor(self.parallelism, thread_name_prefix="pipeline-step") as pool:
            running: dict[Future[list[dict]], str] = {}
            while pending or running:
                if failure is None:
                    ready = sorted((n for n in pending if deps[n] <= done), key=order.get)
                    for name in ready:
                        step = pending.pop(name)
                        running[pool.submit(self._step, record, step, ctx)] = name
                if not running:
                    if pending and failure is None:
                        stuck = ", ".join(sorted(pending))
                        raise DefinitionError(f"steps that can never run (a cycle?): {stuck}")
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    try:
                        branch = future.result()
                    except BaseException as exc:  # noqa: BLE001 - re-raised once the rest end
                        failure = failure or exc
                        continue
                    done.add(name)
                    for nested in branch:
                        pending[nested["Name"]] = nested
                        order.setdefault(nested["Name"], len(order))
                        deps[nested["Name"]] = _dependencies(nested, names) | {name}
        if failure is not None:
            raise failure

    def _end_step(self, item: dict[str, Any], status: str, reason: str | None) -> None:
        with self._lock:
            item["StepStatus"] = status
            item["EndTime"] = datetime.now(UTC)
            if reason:
                item["FailureReason"] = reason

    def _run_step(
        self, record: Execution, step: dict, ctx: Context, item: dict[str, Any]
    ) -> list[dict]:
        """Runs one step; returns the steps of the branch a Condition step chose."""
        name, kind = step["Name"], step["Type"]
        region, account = _arn_parts(record.arn)
        if kind == "Condition":
            args = step["Arguments"]
            outcome = all(evaluate_condition(c, ctx) for c in args.get("Conditions", []))
            item["Metadata"] = {"Condition": {"Outcome": "True" if outcome else "False"}}
            ctx.steps[name] = {"Outcome": outcome}
            return list(args.get("IfSteps" if outcome else "ElseSteps", []))
        if kind == "Fail":
            message = jobs_text(resolve(step.get("Arguments", {}).get("ErrorMessage", ""), ctx))
            item["Metadata"] = {"Fail": {"ErrorMessage": message}}
            raise StepFailed(message)
        args = resolve(step["Arguments"], ctx)
        if kind == "RegisterModel":
            arn = self._register(args, record)
            item["Metadata"] = {"RegisterModel": {"Arn": arn}}
            ctx.steps[name] = {**args, "ModelPackageArn": arn}
            return []
        job = _job_name(record.arn, name)
        work = self.scratch_dir / ctx.execution["PipelineExecutionId"] / name
        env = jobs.JobEnv(
            cloud_env=self.cloud.env(record.credentials),
            region=region,
            code_dir=self.code_dir,
            stop=self._stop,
            startup=self.job_startup,
        )
        s3 = self._client("s3", record)
        if kind == "Processing":
            job_arn = f"arn:aws:sagemaker:{region}:{account}:processing-job/{job}"
            item["Metadata"] = {"ProcessingJob": {"Arn": job_arn}}
            jobs.run_processing(args, job=job, work=work, s3=s3, env=env)
            ctx.steps[name] = {
                **args,
                "ProcessingJobName": job,
                "ProcessingJobArn": job_arn,
                "ProcessingJobStatus": "Completed",
            }
            self._property_files(step, args, work, ctx)
        else:  # Training
            job_arn = f"arn:aws:sagemaker:{region}:{account}:training-job/{job}"
            item["Metadata"] = {"TrainingJob": {"Arn": job_arn}}
            model_uri = jobs.run_training(args, job=job, work=work, s3=s3, env=env)
            ctx.steps[name] = {
                **args,
                "TrainingJobName": job,
                "TrainingJobArn": job_arn,
                "TrainingJobStatus": "Completed",
                "ModelArtifacts": {"S3ModelArtifacts": model_uri},
            }
        return []

    def _property_files(self, step: dict, args: dict, work: Path, ctx: Context) -> None:
        outputs = {
            o["OutputName"]: o["S3Output"]["LocalPath"]
            for o in args.get("ProcessingOutputConfig", {}).get("Outputs", [])
        }
        files = ctx.property_files.setdefault(step["Name"], {})
        for spec in step.get("PropertyFiles", []):
            if spec["OutputName"] not in outputs:
                raise DefinitionError(
                    f"property file {spec['PropertyFileName']}: no output {spec['OutputName']!r}"
                )
            path = jobs.local(work / "opt_ml", outputs[spec["OutputName"]]) / spec["FilePath"]
            try:
                files[spec["PropertyFileName"]] = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise DefinitionError(
                    f"property file {spec['PropertyFileName']} ({spec['FilePath']}): {exc}"
                ) from exc

    def _register(self, args: dict, record: Execution) -> str:
        client = self._client("sagemaker", record)
        try:
            return client.create_model_package(**args)["ModelPackageArn"]
        except Exception as exc:  # noqa: BLE001 - botocore validation and service errors alike
            raise StepFailed(f"CreateModelPackage: {exc}") from exc

    def _client(self, service: str, record: Execution) -> Any:
        return self.cloud.client(service, record.credentials)

    # -- status and events -----------------------------------------------------------------

    def _finish(self, record: Execution, status: str, reason: str | None) -> None:
        record.failure_reason = reason
        record.ended = datetime.now(UTC)
        previous = record.status
        self._status(record, status, previous=previous)
        record.done.set()

    def _status(self, record: Execution, status: str, previous: str | None) -> None:
        record.status = status
        record.modified = datetime.now(UTC)
        event = pipeline_execution_event(
            pipeline_arn=record.pipeline_arn,
            execution_arn=record.arn,
            status=status,
            previous=previous,
            started=record.started,
            ended=record.ended,
            display_name=record.display_name,
            description=record.description,
        )
        try:
            self.emit(event)
        except Exception:  # noqa: BLE001 - a broken subscriber must not stop the pipeline
            log.exception("emitting the status of %s failed", record.arn)


def jobs_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _job_name(execution_arn: str, step: str) -> str:
    """SageMaker's `pipelines-<execution id>-<step>-<suffix>` job names, deterministic here."""
    execution_id = execution_arn.rsplit("/", 1)[-1]
    suffix = hashlib.sha256(f"{execution_arn}/{step}".encode()).hexdigest()[:10]
    return f"pipelines-{execution_id}-{step}-{suffix}"[:63].rstrip("-")


def _all_names(steps: list[dict]) -> set[str]:
    """Every step of the definition, branches of Condition steps included."""
    names = set()
    for step in steps:
        names.add(step["Name"])
        args = step.get("Arguments", {})
        if step.get("Type") == "Condition":
            names |= _all_names(args.get("IfSteps", []) + args.get("ElseSteps", []))
    return names


def _dependencies(step: dict, names: set[str]) -> set[str]:
    """DependsOn and the steps whose properties the step reads."""
    args = step.get("Arguments", {})
    if step.get("Type") == "Condition":
        args = {"Conditions": args.get("Conditions", [])}  # branches are not dependencies
    found = set(step.get("DependsOn", [])) | step_references(args)
    return (found & names) - {step["Name"]}
