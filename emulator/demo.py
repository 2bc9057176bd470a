"""`mlops demo`: the whole loop on the bundled dataset, driven only through AWS APIs and events.

Every stage acts the way a user or AWS would (an S3 upload, a Studio-style approval, endpoint
traffic, the monitoring schedule firing); the runtime's rules and the real handlers do the rest.
Each stage waits for the loop's own outcome and fails the demo, naming the stage, if it is not
reached.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.runtime import LocalRuntime, load_stack
from mlops.lineage import lineage, render

TRAINING_ROWS = 3000
TRAFFIC_ROWS = 200
CONCEPT_ROWS = 600  # same features as training, labels that no longer follow them
DRIFTED_ROWS = 600
ROWS_PER_REQUEST = 20
STAGE_TIMEOUT = 240.0


class DemoFailed(RuntimeError):
    """A stage did not reach its outcome; the message names the stage and what was seen."""


@dataclass
class Stage:
    name: str
    seconds: float
    outcome: str


@dataclass
class DemoResult:
    stages: list[Stage] = field(default_factory=list)
    timeline: list[Any] = field(default_factory=list)
    report_uri: str | None = None
    report_path: Path | None = None
    lineage_text: str = ""
    lambda_stats: dict[str, Any] = field(default_factory=dict)  # per function: cold and warm

    def seconds(self, name: str) -> float:
        return next(s.seconds for s in self.stages if s.name == name)


class Demo:
    def __init__(
        self, runtime: LocalRuntime, out: Callable[[str], None], report_dir: Path = Path(".mlops")
    ) -> None:
        self.rt = runtime
        self.report_dir = report_dir
        self.out = out
        self.result = DemoResult()
        self.s3 = runtime.cloud.client("s3")
        self.sm = runtime.cloud.client("sagemaker")
        self.runtime_client = runtime.cloud.client("sagemaker-runtime")

    @contextmanager
    def stage(self, name: str, doing: str) -> Iterator[list[str]]:
        self.out(f"  … {name:<10} {doing}")
        started = time.perf_counter()
        outcome: list[str] = []
        yield outcome
        seconds = time.perf_counter() - started
        self.result.stages.append(Stage(name, seconds, "; ".join(outcome)))
        self.out(f"  ✓ {name:<10} {seconds:6.1f}s  {'; '.join(outcome)}")

    # -- waiting on the loop's own outcomes -----------------------------------------------

    def _executions(self, pipeline: str) -> list[dict[str, Any]]:
        return self.sm.list_pipeline_executions(PipelineName=pipeline).get(
            "PipelineExecutionSummaries", []
        )

    def _wait_for_new_execution(self, pipeline: str, known: int, stage: str) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.rt.bus.drain(timeout=10)
            runs = self._executions(pipeline)
            if len(runs) > known:
                newest = max(runs, key=lambda r: r["StartTime"])
                return newest["PipelineExecutionArn"]
            time.sleep(0.2)
        raise DemoFailed(f"{stage}: no {pipeline} execution started")

    def _run_to_success(self, execution_arn: str, stage: str) -> None:
        status = self.rt.executor.wait(execution_arn, timeout=STAGE_TIMEOUT)
        self.rt.bus.drain(timeout=30)
        if status != "Succeeded":
            reason = self.rt.executor.failure_reason(execution_arn)
            raise DemoFailed(f"{stage}: execution {status}: {reason}")

    def _packages(self) -> list[dict[str, Any]]:
        return self.sm.list_model_packages(
            ModelPackageGroupName=self.rt.model_group,
            SortBy="CreationTime",
            SortOrder="Descending",
        ).get("ModelPackageSummaryList", [])

    def _put_csv(self, key: str, frame: Any) -> None:
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False)
        self.s3.put_object(Bucket=self.rt.data_bucket, Key=key, Body=buffer.getvalue().encode())

    def _send_traffic(
        self, frame: Any, features: list[str], labels: Any = None, tag: str = "traffic"
    ) -> int:
        """Requests of ROWS_PER_REQUEST rows; with labels, each request carries an InferenceId
        and its rows' labels are uploaded as ground truth keyed by it, as a user would."""
        rows = frame[features].to_csv(index=False, header=False).splitlines()
        sent, records = 0, []
        for start in range(0, len(rows), ROWS_PER_REQUEST):
            body = "\n".join(rows[start : start + ROWS_PER_REQUEST]).encode()
            ids = {} if labels is None else {"InferenceId": f"{tag}-{sent:05d}"}
            self.runtime_client.invoke_endpoint(
                EndpointName=self.rt.endpoint_name,
                ContentType="text/csv",
                Accept="text/csv",
                Body=body,
                **ids,
            )["Body"].read()
            if labels is not None:
                batch = labels[start : start + ROWS_PER_REQUEST]
                records.append(_ground_truth(ids["InferenceId"], [str(v) for v in batch]))
            sent += 1
        if records:
            now = time.gmtime()
            key = (
                f"ground-truth/{self.rt.endpoint_name}/{time.strftime('%Y/%m/%d/%H', now)}/"
                f"{tag}.jsonl"
            )
            self.s3.put_object(
                Bucket=self.rt.data_bucket, Key=key, Body="\n".join(records).encode() + b"\n"
            )
        return sent

    def _monitor(self, stage: str) -> dict[str, Any]:
        """The hourly schedule fires: the monitoring run over what was captured; its report."""
        self.rt.endpoints.flush()
        known = len(self._executions(self.rt.monitoring_pipeline))
        self.rt.bus.run_schedule(self.rt.monitoring_rule)
        arn = self._wait_for_new_execution(self.rt.monitoring_pipeline, known, stage)
        self._run_to_success(arn, stage)
        self.result.report_uri = self._report_uri()
        self.result.report_path = self._download(self.result.report_uri)
        return self._report_json(self.result.report_uri)

    def _model_quality_alarm(self) -> str:
        """The template's alarm on a model_quality_<metric> metric."""
        for resource in self.rt.template["Resources"].values():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::CloudWatch::Alarm" and str(
                props.get("MetricName", "")
            ).startswith("model_quality_"):
                return str(props["AlarmName"])
        raise DemoFailed("alarm: the template has no model-quality alarm")

    def _alarmed(self) -> list[str]:
        return [
            e["detail"]["alarmName"]
            for e in self.rt.alarms.evaluate()
            if e["detail"]["state"]["value"] == "ALARM"
        ]

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> DemoResult:
        from pipelines.datasets import generate_churn

        columns = json.loads(self.rt.function_env("data_arrival")["SCHEMA_COLUMNS"])
        features, target = columns[:-1], columns[-1]

        with self.stage("upload", "bundled dataset to incoming/ (S3 Object Created)") as note:
            self._put_csv("incoming/churn-2026-11.csv", generate_churn(TRAINING_ROWS, seed=7))
            note.append(f"{TRAINING_ROWS} rows")
        with self.stage(
            "train", "validate, preprocess, train, evaluate, baseline, register"
        ) as note:
            arn = self._wait_for_new_execution(self.rt.training_pipeline, 0, "train")
            self._run_to_success(arn, "train")
            pending = [
                p for p in self._packages() if p["ModelApprovalStatus"] == "PendingManualApproval"
            ]
            if not pending:
                raise DemoFailed("train: the run succeeded but registered no model for approval")
            first = pending[0]["ModelPackageArn"]
            note.append(f"registered {first.rsplit('/', 2)[-2]}/{first.rsplit('/', 1)[-1]}")
        with self.stage("approve", "update_model_package(Approved), as Studio does") as note:
            self.sm.update_model_package(ModelPackageArn=first, ModelApprovalStatus="Approved")
            self.rt.bus.drain(timeout=30)
            status = self.rt.endpoints.wait(self.rt.endpoint_name, timeout=STAGE_TIMEOUT)
            self.rt.bus.drain(timeout=30)
            if status != "InService":
                raise DemoFailed(f"approve: endpoint ended {status}")
            live = self._live_record()
            if live.get("model_package_arn") != first:
                raise DemoFailed(f"approve: live record names {live.get('model_package_arn')}")
            note.append(f"{self.rt.endpoint_name} InService")
        with self.stage("serve", "labelled traffic through sagemaker-runtime") as note:
            normal = generate_churn(TRAFFIC_ROWS, seed=11)
            requests = self._send_traffic(normal, features, normal[target], tag="served")
            note.append(f"{requests} requests, {TRAFFIC_ROWS} rows captured and labelled")
        with self.stage("bad file", "a file with a wrong header arrives midway") as note:
            self.s3.put_object(
                Bucket=self.rt.data_bucket,
                Key="incoming/broken-export.csv",
                Body=b"customer,when\n1,yesterday\n",
            )
            self.rt.bus.drain(timeout=30)
            reason = json.loads(
                self.s3.get_object(
                    Bucket=self.rt.data_bucket,
                    Key="quarantine/incoming/broken-export.csv.reason.json",
                )["Body"].read()
            )
            note.append(f"quarantined: {reason['reason']}")
        with self.stage("concept", "same features, labels shifted; the monitoring run") as note:
            concept = generate_churn(CONCEPT_ROWS, seed=17)
            # What churns now is what did not: the features alone cannot tell.
            self._send_traffic(concept, features, 1 - concept[target], tag="concept")
            report = self._monitor("concept")
            quality = report.get("model_quality") or {}
            if quality.get("value") is None:
                raise DemoFailed(f"concept: no model quality measured: {quality.get('message')}")
            drift = report.get("drift", {})
            note.append(
                f"{quality['metric']} {quality['value']:.2f} on {quality['n_labelled_rows']} "
                f"labelled rows; drift_score {drift.get('drift_score', 0):.2f}"
            )
        with self.stage("alarm", "alarms evaluated over the monitoring metrics") as note:
            alarmed = self._alarmed()
            quality_alarm = self._model_quality_alarm()
            if quality_alarm not in alarmed:
                raise DemoFailed(f"alarm: {quality_alarm} did not go to ALARM ({alarmed})")
            note.append(f"ALARM: {', '.join(sorted(alarmed))}")
        with self.stage("retrain", "drift_retrain starts training; a new version registers") as n:
            arn = self._wait_for_new_execution(self.rt.training_pipeline, 1, "retrain")
            self._run_to_success(arn, "retrain")
            newest = self._packages()[0]
            if newest["ModelPackageArn"] == first:
                raise DemoFailed("retrain: the run registered no new model version")
            n.append(
                f"registered version {newest['ModelPackageVersion']} "
                f"({newest['ModelApprovalStatus']})"
            )
        with self.stage("drift", "drifted features; the monitoring run; alarms") as note:
            self._send_traffic(generate_churn(DRIFTED_ROWS, seed=13, drift=True), features)
            report = self._monitor("drift")
            drift = report.get("drift", {})
            drifted = [n for n, f in drift.get("features", {}).items() if f.get("drifted")]
            alarmed = self._alarmed()
            if not any("-drift-" in name for name in alarmed):
                raise DemoFailed(f"drift: no drift alarm went to ALARM (changes: {alarmed})")
            note.append(
                f"{report.get('status')}: drift_score {drift.get('drift_score', 0):.2f} "
                f"over {drift.get('n_current', 0)} captured rows, drifted "
                f"{', '.join(drifted) or 'none'}; ALARM: {', '.join(sorted(alarmed))}"
            )
        self.result.lineage_text = render(
            lineage(
                s3=self.s3,
                sagemaker=self.sm,
                artifacts_bucket=self.rt.artifacts_bucket,
                endpoint_name=self.rt.endpoint_name,
            )
        )
        self.result.timeline = list(self.rt.bus.timeline)
        return self.result

    def _live_record(self) -> dict[str, Any]:
        body = self.s3.get_object(
            Bucket=self.rt.artifacts_bucket, Key=f"live/{self.rt.endpoint_name}.json"
        )["Body"].read()
        return json.loads(body)

    def _download(self, uri: str) -> Path:
        """The moto store ends with the demo; the report the user opens must not."""
        target = self.report_dir / uri.rsplit("/", 1)[-1]
        target.parent.mkdir(parents=True, exist_ok=True)
        key = uri.split("/", 3)[3]
        target.write_bytes(
            self.s3.get_object(Bucket=self.rt.artifacts_bucket, Key=key)["Body"].read()
        )
        return target

    def _report_json(self, html_uri: str) -> dict[str, Any]:
        key = html_uri.split("/", 3)[3].removesuffix(".html") + ".json"
        return json.loads(
            self.s3.get_object(Bucket=self.rt.artifacts_bucket, Key=key)["Body"].read()
        )

    def _report_uri(self) -> str:
        listing = self.s3.list_objects_v2(
            Bucket=self.rt.artifacts_bucket, Prefix=f"monitoring/{self.rt.endpoint_name}/"
        )
        reports = sorted(
            o["Key"]
            for o in listing.get("Contents", [])
            if o["Key"].endswith("/drift_report.html")  # not the history pages beside them
        )
        if not reports:
            raise DemoFailed("drift: the monitoring run wrote no HTML report")
        return f"s3://{self.rt.artifacts_bucket}/{reports[-1]}"


def _ground_truth(inference_id: str, labels: list[str]) -> str:
    """One record in SageMaker's ground-truth format, a label per row of the request
    (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html)."""
    return json.dumps(
        {
            "groundTruthData": {"data": "\n".join(labels), "encoding": "CSV"},
            "eventMetadata": {"eventId": inference_id},
            "eventVersion": "0",
        }
    )


def _what_happened(entry: Any) -> str:
    """The handler's own answer (started, quarantined, ignored and why), else the outcome."""
    result = entry.result if isinstance(entry.result, dict) else {}
    words = [str(result[k]) for k in ("status", "reason") if result.get(k)]
    if entry.outcome != "ok":
        words.insert(0, entry.outcome)
    return " ".join(words) or entry.outcome


def render_timeline(entries: list[Any]) -> list[str]:
    lines = []
    for entry in entries:
        if entry.outcome == "unmatched":
            continue
        when = entry.time[11:19] if isinstance(entry.time, str) else str(entry.time)
        lines.append(
            f"  {when}  {entry.detail_type:<58} -> {entry.target or '-':<27} "
            f"{entry.duration:5.2f}s  {_what_happened(entry)}"
        )
    return lines


def render_unused_grants(unused: dict[str, list[dict[str, str]]], path: Path) -> str:
    """Write the unused-grant report to `path` (JSON) and say what it holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(unused, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    lines = [f"Grants no call of the loop exercised ({path}):"]
    for role, entries in sorted(unused.items()):
        lines.append(f"  {role}")
        lines += [f"    {e['action']} on {e['resource']}" for e in entries]
    if not unused:
        lines.append("  none: every grant of the template was used")
    return "\n".join(lines)


def run_demo(
    config: Path,
    *,
    out: Callable[[str], None] = print,
    log_dir: Path = Path(".mlops/logs"),
    unused_path: Path = Path(".mlops/unused-grants.json"),
) -> DemoResult:
    started = time.perf_counter()
    out("mlops demo: the whole loop on your machine, no AWS account, no Docker")
    with tempfile.TemporaryDirectory(prefix="mlops-demo-") as scratch:
        synth_started = time.perf_counter()
        stack = load_stack(config)
        out(
            f"  ✓ {'synth':<10} {time.perf_counter() - synth_started:6.1f}s  "
            f"{len(stack.template['Resources'])} resources in cdk.out/{stack.name}.template.json"
        )
        deploy_started = time.perf_counter()
        with LocalRuntime(stack=stack, scratch_dir=Path(scratch), log_dir=log_dir) as runtime:
            out(
                f"  ✓ {'deploy':<10} {time.perf_counter() - deploy_started:6.1f}s  "
                f"moto at {runtime.cloud.endpoint_url}"
            )
            result = Demo(runtime, out).run()
            result.lambda_stats = runtime.lambdas.stats()
            unused = runtime.unused_grants() if runtime.authorizer is not None else {}
    out("")
    out("Timeline (event -> target, outcome, duration):")
    for line in render_timeline(result.timeline):
        out(line)
    out("")
    out("Lineage of the model serving now:")
    out(result.lineage_text)
    out("")
    out(f"Drift report: {result.report_path} (from {result.report_uri})")
    out("")
    out(render_unused_grants(unused, unused_path))
    out(
        f"Whole loop: {time.perf_counter() - started:.1f}s "
        f"(upload to registered: {result.seconds('upload') + result.seconds('train'):.1f}s)"
    )
    return result


@contextmanager
def handler_logs_to(path: Path) -> Iterator[Callable[[str], None]]:
    """Send the handlers' JSON logs and library logging to a file; yield a printer for the
    terminal, so the progress view stays readable and nothing is lost."""
    path.parent.mkdir(parents=True, exist_ok=True)
    terminal = sys.stdout
    root = logging.getLogger()
    with path.open("w", encoding="utf-8") as log:
        handler = logging.StreamHandler(log)
        saved_handlers, saved_level = root.handlers[:], root.level
        root.handlers, root.level = [handler], logging.INFO
        sys.stdout = log
        logging.captureWarnings(True)
        try:
            yield lambda line: print(line, file=terminal, flush=True)
        finally:
            logging.captureWarnings(False)
            sys.stdout = terminal
            root.handlers, root.level = saved_handlers, saved_level


def main(config: Path, log_path: Path = Path(".mlops/demo.log")) -> int:
    with handler_logs_to(log_path) as out:
        try:
            run_demo(config, out=out)
        except Exception as error:  # noqa: BLE001 - any failure is reported and exits non-zero
            out(f"\nmlops demo FAILED: {type(error).__name__}: {error}")
            out(f"handler and step logs: {log_path}")
            return 1
    print(f"handler and step logs: {log_path}")
    return 0
