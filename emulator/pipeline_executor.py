"""Running a SageMaker pipeline definition locally: what moto's StartPipelineExecution lacks.

`start` runs the execution in a worker thread: steps in dependency order, one at a time (same
order every run, which matters more here than parallelism), Processing and Training steps as
local processes (`emulator.pipeline_jobs`), Condition and Fail steps evaluated in-process,
RegisterModel steps as a CreateModelPackage call to moto. Every execution status change is
emitted as the AWS event and written to moto's own execution record, so `describe_pipeline_
execution` through boto3 agrees with the events.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulator import pipeline_jobs as jobs
from emulator.clients import local_client
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

PIPELINE_EVENT = "SageMaker Model Building Pipeline Execution Status Change"
MODEL_PACKAGE_EVENT = "SageMaker Model Package State Change"
SUPPORTED_STEPS = ("Processing", "Training", "Condition", "Fail", "RegisterModel")


class StepFailed(Exception):
    """A step failed; the message is its FailureReason."""


@dataclass
class _Execution:
    arn: str
    pipeline_arn: str
    status: str = "Executing"
    failure_reason: str | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended: datetime | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _arn_parts(arn: str) -> tuple[str, str]:
    """(region, account) of an ARN."""
    parts = arn.split(":")
    if len(parts) < 6:
        raise DefinitionError(f"not an ARN: {arn!r}")
    return parts[3], parts[4]


def moto_execution(execution_arn: str) -> Any | None:
    """moto's in-memory record of the execution (moto runs in this process), or None."""
    from moto.sagemaker.models import sagemaker_backends

    region, account = _arn_parts(execution_arn)
    pipeline_name = execution_arn.split("/")[1]
    backend = sagemaker_backends[account][region]
    pipeline = backend.pipelines.get(pipeline_name)
    return None if pipeline is None else pipeline.pipeline_executions.get(execution_arn)


class PipelineExecutor:
    def __init__(
        self,
        *,
        endpoint_url: str,
        scratch_dir: Path,
        emit: Callable[[dict], None],
        code_dir: Path | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.scratch_dir = Path(scratch_dir).resolve()
        self.emit = emit
        self.code_dir = code_dir
        self._executions: dict[str, _Execution] = {}
        self._lock = threading.Lock()

    # -- the seams -------------------------------------------------------------------------

    def start(
        self,
        *,
        pipeline_arn: str,
        execution_arn: str,
        definition: dict,
        parameters: dict[str, str],
    ) -> None:
        record = _Execution(arn=execution_arn, pipeline_arn=pipeline_arn)
        with self._lock:
            if execution_arn in self._executions:
                raise ValueError(f"execution {execution_arn} already started")
            self._executions[execution_arn] = record
        self._status(record, "Executing", previous=None)
        worker = threading.Thread(
            target=self._run,
            args=(record, copy.deepcopy(definition), dict(parameters)),
            name=f"pipeline-{execution_arn.rsplit('/', 1)[-1]}",
            daemon=True,
        )
        worker.start()

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

    def _record(self, execution_arn: str) -> _Execution:
        with self._lock:
            if execution_arn not in self._executions:
                raise KeyError(f"no execution {execution_arn} was started here")
            return self._executions[execution_arn]

    def _run(self, record: _Execution, definition: dict, overrides: dict[str, str]) -> None:
        try:
            ctx = self._context(record, definition, overrides)
            for step in _ordered(definition.get("Steps", [])):
                self._step(record, step, ctx)
        except StepFailed as exc:
            self._finish(record, "Failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - any bug must end the execution, not hang it
            log.exception("pipeline execution %s crashed", record.arn)
            self._finish(record, "Failed", f"{type(exc).__name__}: {exc}")
        else:
            self._finish(record, "Succeeded", None)

    def _context(self, record: _Execution, definition: dict, overrides: dict[str, str]) -> Context:
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

    def _step(self, record: _Execution, step: dict, ctx: Context) -> None:
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
        for nested in _ordered(branch):
            self._step(record, nested, ctx)

    def _end_step(self, item: dict[str, Any], status: str, reason: str | None) -> None:
        with self._lock:
            item["StepStatus"] = status
            item["EndTime"] = datetime.now(UTC)
            if reason:
                item["FailureReason"] = reason

    def _run_step(
        self, record: _Execution, step: dict, ctx: Context, item: dict[str, Any]
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
            arn = self._register(args, record, region)
            item["Metadata"] = {"RegisterModel": {"Arn": arn}}
            ctx.steps[name] = {**args, "ModelPackageArn": arn}
            return []
        job = _job_name(record.arn, name)
        work = self.scratch_dir / ctx.execution["PipelineExecutionId"] / name
        env = jobs.JobEnv(endpoint_url=self.endpoint_url, region=region, code_dir=self.code_dir)
        s3 = self._client("s3", region)
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

    def _register(self, args: dict, record: _Execution, region: str) -> str:
        client = self._client("sagemaker", region)
        try:
            arn = client.create_model_package(**args)["ModelPackageArn"]
        except Exception as exc:  # noqa: BLE001 - botocore validation and service errors alike
            raise StepFailed(f"CreateModelPackage: {exc}") from exc
        described = client.describe_model_package(ModelPackageName=arn)
        described.pop("ResponseMetadata", None)
        self._emit(MODEL_PACKAGE_EVENT, record, [arn], _jsonable(described))
        return arn

    def _client(self, service: str, region: str) -> Any:
        return local_client(service, endpoint_url=self.endpoint_url, region=region)

    # -- status and events -----------------------------------------------------------------

    def _finish(self, record: _Execution, status: str, reason: str | None) -> None:
        record.failure_reason = reason
        record.ended = datetime.now(UTC)
        previous = record.status
        self._status(record, status, previous=previous)
        record.done.set()

    def _status(self, record: _Execution, status: str, previous: str | None) -> None:
        record.status = status
        moto = _safe_moto_execution(record.arn)
        if moto is not None:
            moto.pipeline_execution_status = status
            moto.pipeline_execution_failure_reason = record.failure_reason
            moto.last_modified_time = datetime.now(UTC)
        detail: dict[str, Any] = {
            "pipelineExecutionDisplayName": getattr(moto, "pipeline_execution_display_name", None)
            or f"execution-{int(record.started.timestamp() * 1000)}",
            "currentPipelineExecutionStatus": status,
        }
        if previous is not None:
            detail["previousPipelineExecutionStatus"] = previous
        detail["executionStartTime"] = _iso(record.started)
        if record.ended is not None:
            detail["executionEndTime"] = _iso(record.ended)
        detail["pipelineExecutionDescription"] = (
            getattr(moto, "pipeline_execution_description", None) or ""
        )
        detail["pipelineArn"] = record.pipeline_arn
        detail["pipelineExecutionArn"] = record.arn
        self._emit(PIPELINE_EVENT, record, [record.pipeline_arn, record.arn], detail)

    def _emit(
        self, detail_type: str, record: _Execution, resources: list[str], detail: dict[str, Any]
    ) -> None:
        region, account = _arn_parts(record.arn)
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": "aws.sagemaker",
            "account": account,
            "time": _iso(datetime.now(UTC)),
            "region": region,
            "resources": resources,
            "detail": detail,
        }
        try:
            self.emit(event)
        except Exception:  # noqa: BLE001 - a broken subscriber must not stop the pipeline
            log.exception("emitting %s for %s failed", detail_type, record.arn)


def jobs_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _safe_moto_execution(arn: str) -> Any | None:
    try:
        return moto_execution(arn)
    except Exception:  # noqa: BLE001 - moto absent or the ARN unknown to it: events still flow
        log.debug("no moto record for %s", arn, exc_info=True)
        return None


def _job_name(execution_arn: str, step: str) -> str:
    """SageMaker's `pipelines-<execution id>-<step>-<suffix>` job names, deterministic here."""
    execution_id = execution_arn.rsplit("/", 1)[-1]
    suffix = hashlib.sha256(f"{execution_arn}/{step}".encode()).hexdigest()[:10]
    return f"pipelines-{execution_id}-{step}-{suffix}"[:63].rstrip("-")


def _ordered(steps: list[dict]) -> list[dict]:
    """Dependency order (DependsOn and property references), else definition order."""
    by_name = {s["Name"]: s for s in steps}
    deps = {
        s["Name"]: (set(s.get("DependsOn", [])) | step_references(s.get("Arguments", {})))
        & set(by_name) - {s["Name"]}
        for s in steps
    }
    done: list[dict] = []
    placed: set[str] = set()
    while len(done) < len(steps):
        ready = [s for s in steps if s["Name"] not in placed and deps[s["Name"]] <= placed]
        if not ready:
            stuck = sorted(set(by_name) - placed)
            raise DefinitionError(f"dependency cycle among steps: {', '.join(stuck)}")
        done.append(ready[0])
        placed.add(ready[0]["Name"])
    return done


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return _iso(value)
    return value
