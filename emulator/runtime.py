"""The whole local runtime, wired: moto, the deployed template, the bus, alarms, pipelines and
endpoints. `mlops demo` and `mlops local up` both run one of these.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from emulator.alarms import AlarmEvaluator
from emulator.assets import publish_assets
from emulator.bus import EventBus
from emulator.deployer import Deployment, deploy
from emulator.endpoints import EndpointHost
from emulator.pipeline_executor import PipelineExecutor
from emulator.server import LocalCloud

REPO_ROOT = Path(__file__).resolve().parents[1]
CDK_OUT = REPO_ROOT / "cdk.out"


class UnsupportedTemplate(RuntimeError):
    """The template cannot be run locally; the message names what is unsupported."""


@dataclass(frozen=True)
class SynthesizedStack:
    name: str
    template: dict[str, Any]
    cdk_out: Path


def _newest_source(paths: list[Path]) -> float:
    return max(
        f.stat().st_mtime
        for root in paths
        for f in root.rglob("*")
        if f.is_file() and "__pycache__" not in f.parts
    )


def load_stack(config_path: Path, cdk_out: Path = CDK_OUT) -> SynthesizedStack:
    """The synthesized stack of the config's stage, synthesized again when the config or any
    source is newer than the template: the local loop runs what `cdk deploy` would deploy."""
    from infra.config import load_config

    config = load_config(config_path)
    path = cdk_out / f"{config.prefix}.template.json"
    sources = [config_path.resolve(), *(REPO_ROOT / d for d in ("infra", "functions", "pipelines"))]
    stale = not path.exists() or path.stat().st_mtime < max(
        config_path.stat().st_mtime, _newest_source(sources[1:])
    )
    if stale:
        from aws_cdk import App

        from infra.app import build_stack

        app = App(outdir=str(cdk_out))
        build_stack(app, config, {})
        app.synth()
    return SynthesizedStack(config.prefix, json.loads(path.read_text()), cdk_out)


class LocalRuntime:
    """Start with `with LocalRuntime(template=..., scratch_dir=...) as runtime:`.

    `time_scale` shortens the waits a deployment would really take (the canary bake time), so
    the demo's blue/green update runs in seconds with the same steps.
    """

    def __init__(
        self, *, stack: SynthesizedStack, scratch_dir: Path, time_scale: float = 0.01, port: int = 0
    ) -> None:
        self.stack = stack
        self.template = stack.template
        self.scratch_dir = scratch_dir
        self.time_scale = time_scale
        self.port = port
        self._stack = contextlib.ExitStack()

    def start(self) -> LocalRuntime:
        try:
            self.cloud: LocalCloud = self._stack.enter_context(LocalCloud(port=self.port))
            publish_assets(
                self.stack.cdk_out,
                self.stack.name,
                self.cloud.client("s3"),
                account=self.cloud.account,
                region=self.cloud.region,
            )
            self.deployment: Deployment = deploy(self.template, self.cloud)
            if self.deployment.unsupported:
                raise UnsupportedTemplate(
                    "the template uses what the local runtime cannot run: "
                    + ", ".join(self.deployment.unsupported)
                )
            self.bus: EventBus = self._stack.enter_context(EventBus(self.cloud, self.deployment))
            self.alarms = AlarmEvaluator(self.cloud, self.deployment.alarms, self.bus.put)
            self.executor = PipelineExecutor(
                endpoint_url=self.cloud.endpoint_url,
                scratch_dir=self.scratch_dir / "pipelines",
                emit=self.bus.put,
            )
            self.endpoints = EndpointHost(
                endpoint_url=self.cloud.endpoint_url,
                scratch_dir=self.scratch_dir / "endpoints",
                emit=self.bus.put,
                alarm_state=self.alarms.alarm_state,
                time_scale=self.time_scale,
            )
            self._stack.callback(self.endpoints.close)
            self.cloud.use_executor(self.executor)
            self.cloud.use_endpoint_host(self.endpoints)
            self.cloud.emit = self.bus.put
            self._stack.enter_context(self._serve_invocations_through_moto())
        except BaseException:
            self._stack.close()
            raise
        return self

    def stop(self) -> None:
        self._stack.close()

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _serve_invocations_through_moto(self) -> Any:
        """`sagemaker-runtime` InvokeEndpoint on the same URL as every other service: moto
        answers it with canned data, so its response handler is pointed at the endpoint host."""
        host = self.endpoints

        def invoke_endpoint(response: SageMakerRuntimeResponse) -> tuple[int, dict, bytes]:
            name = response.path.split("/")[2]
            headers = {k.lower(): v for k, v in response.headers.items()}
            status, out_headers, body = host.invoke(
                name,
                response.body if isinstance(response.body, bytes) else response.body.encode(),
                headers.get("content-type", "text/csv"),
                headers.get("accept", "*/*"),
                headers.get("x-amzn-sagemaker-inference-id"),
            )
            return status, out_headers, body

        return mock.patch.object(SageMakerRuntimeResponse, "invoke_endpoint", invoke_endpoint)

    # Names the loop needs, from the deployment rather than guessed.
    def function_env(self, short_name: str) -> dict[str, str]:
        for spec in self.deployment.functions.values():
            if spec.handler == f"functions.{short_name}.handler.lambda_handler":
                return spec.environment
        raise KeyError(f"no function with handler functions.{short_name}")

    @property
    def data_bucket(self) -> str:
        return self.function_env("data_arrival")["DATA_BUCKET"]

    @property
    def artifacts_bucket(self) -> str:
        return self.function_env("data_arrival")["ARTIFACTS_BUCKET"]

    @property
    def endpoint_name(self) -> str:
        return self.function_env("deploy")["ENDPOINT_NAME"]

    @property
    def model_group(self) -> str:
        return self.function_env("deploy")["MODEL_PACKAGE_GROUP_NAME"]

    @property
    def monitoring_rule(self) -> str:
        """The schedule that starts the monitoring pipeline (rate(1 hour) in the template)."""
        for rule in self.deployment.rules:
            if rule.schedule and any(t.kind == "pipeline" for t in rule.targets):
                return rule.name
        raise KeyError("the deployment has no scheduled rule that starts a pipeline")

    @property
    def monitoring_pipeline(self) -> str:
        rule = self.deployment.rule(self.monitoring_rule)
        return next(t.name for t in rule.targets if t.kind == "pipeline")

    @property
    def training_pipeline(self) -> str:
        return self.function_env("data_arrival")["TRAINING_PIPELINE_NAME"]
