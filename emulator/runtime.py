"""The whole local runtime, wired: the front over moto, the providers, the deployed template, the
bus, the Lambda service, alarms, pipelines and endpoints. `mlops demo` and `mlops local up` both
run one of these.
"""

from __future__ import annotations

import contextlib
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator import providers
from emulator.alarms import AlarmEvaluator, MetricStore
from emulator.assets import publish_assets
from emulator.authorizer import Authorizer, grants
from emulator.bus import AT_LEAST_ONCE, Delivery, EventBus
from emulator.cloud import LocalCloud
from emulator.deployer import Deployment, deploy
from emulator.endpoints import EndpointHost
from emulator.intrinsics import Resolver
from emulator.job_processes import warm_up
from emulator.lambdas import LambdaService
from emulator.pipeline_executor import PipelineExecutor

REPO_ROOT = Path(__file__).resolve().parents[1]
CDK_OUT = REPO_ROOT / "cdk.out"


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
    """Start with `with LocalRuntime(stack=..., scratch_dir=...) as runtime:`.

    `time_scale` shortens the waits AWS would really take (instances provisioning, a canary's
    bake time, a job's start-up, Lambda's retry backoff) all by the same factor, so the demo's
    blue/green update runs in seconds with the same steps and a retry window AWS would exhaust
    is exhausted here too. `delivery` is EventBridge's: at least once and out of order unless
    told otherwise.
    """

    def __init__(
        self,
        *,
        stack: SynthesizedStack,
        scratch_dir: Path,
        time_scale: float = 0.001,
        port: int = 0,
        log_dir: Path | None = None,
        delivery: Delivery = AT_LEAST_ONCE,
        enforce_iam: bool = True,
    ) -> None:
        self.stack = stack
        self.template = stack.template
        self.scratch_dir = Path(scratch_dir).resolve()
        self.log_dir = Path(log_dir).resolve() if log_dir else self.scratch_dir / "logs"
        self.time_scale = time_scale
        self.port = port
        self.delivery = delivery
        # IAM per principal, as AWS does (`emulator.authorizer`); off only to isolate a problem.
        self.enforce_iam = enforce_iam
        self._stack = contextlib.ExitStack()

    def start(self) -> LocalRuntime:
        warm_up()  # the step processes' fork server, while the stack deploys
        try:
            self.cloud: LocalCloud = self._stack.enter_context(LocalCloud(port=self.port))
            self.lambdas = LambdaService(
                self.cloud,
                scratch_dir=self.scratch_dir / "functions",
                log_dir=self.log_dir,
                time_scale=self.time_scale,
            ).start()
            self._stack.callback(self.lambdas.stop)
            self.bus = EventBus(self.cloud, self.lambdas, self.delivery).start()
            self._stack.callback(self.bus.stop)
            self.metrics = MetricStore()
            self.alarms = AlarmEvaluator(self.cloud, self.metrics, self.bus.put)
            self.executor = PipelineExecutor(
                cloud=self.cloud,
                scratch_dir=self.scratch_dir / "pipelines",
                emit=self.bus.put,
                time_scale=self.time_scale,
            )
            self._stack.callback(self.executor.stop)
            self.endpoints = EndpointHost(
                cloud=self.cloud,
                scratch_dir=self.scratch_dir / "endpoints",
                emit=self.bus.put,
                alarm_state=self.alarms.alarm_state,
                time_scale=self.time_scale,
            )
            self._stack.callback(self.endpoints.close)
            self.providers = providers.install(
                self.cloud,
                bus=self.bus,
                lambdas=self.lambdas,
                executor=self.executor,
                endpoints=self.endpoints,
                metrics=self.metrics,
                alarms=self.alarms,
                enforce_iam=self.enforce_iam,
            )
            publish_assets(
                self.stack.cdk_out,
                self.stack.name,
                self.cloud.client("s3"),
                account=self.cloud.account,
                region=self.cloud.region,
            )
            self.deployment: Deployment = deploy(
                self.template, self.cloud, stack_name=self.stack.name
            )
            self._register_function_code()
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

    @property
    def _resolver(self) -> Resolver:
        return Resolver(
            self.template,
            account=self.cloud.account,
            region=self.cloud.region,
            physical_ids=self.deployment.physical_ids,
            attributes=self.deployment.attributes,
            stack_name=self.stack.name,
        )

    @property
    def authorizer(self) -> Authorizer | None:
        """The runtime's IAM (None when enforcement is off)."""
        return next((p for p in self.providers if isinstance(p, Authorizer)), None)

    def unused_grants(self) -> dict[str, list[dict[str, str]]]:
        """Per role (its physical name), the template's grant entries (action x resource of an
        Allow statement) that no allowed call of the role exercised."""
        if self.authorizer is None:
            raise RuntimeError("grant usage is recorded only with enforce_iam=True")
        roles = self.deployment.of_type("AWS::IAM::Role")
        found = grants.template_grants(self.template, self._resolver.resolve, roles)
        return grants.unused(found, self.authorizer.usage)

    def _register_function_code(self) -> None:
        resolver = self._resolver
        for logical, name in self.deployment.of_type("AWS::Lambda::Function").items():
            code = resolver.resolve(self.template["Resources"][logical]["Properties"]["Code"])
            self.lambdas.register_code(name, bucket=code["S3Bucket"], key=code["S3Key"])

    def settle(self, timeout: float = 60.0) -> bool:
        """Wait until the bus and every invocation it caused are idle."""
        return self.bus.drain(timeout)

    # Names the loop needs, from the deployed functions rather than guessed.
    @functools.cached_property
    def _functions(self) -> dict[str, dict[str, Any]]:
        """Handler -> the deployed function's configuration."""
        lam = self.cloud.client("lambda")
        out = {}
        for name in self.deployment.of_type("AWS::Lambda::Function").values():
            conf = lam.get_function_configuration(FunctionName=name)
            out[conf["Handler"]] = conf
        return out

    def _function(self, short_name: str) -> dict[str, Any]:
        handler = f"functions.{short_name}.handler.lambda_handler"
        if handler not in self._functions:
            raise KeyError(f"no function with handler {handler}")
        return self._functions[handler]

    def function_name(self, short_name: str) -> str:
        return self._function(short_name)["FunctionName"]

    def function_env(self, short_name: str) -> dict[str, str]:
        return dict(self._function(short_name).get("Environment", {}).get("Variables", {}))

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
        """The schedule that runs monitoring (rate(1 hour) in the template): it invokes the
        deploy function, which starts the monitoring pipeline while a model serves."""
        deploy = self.function_name("deploy")
        for rule in self.bus.rules():
            if rule.schedule and any(t.kind == "lambda" and t.name == deploy for t in rule.targets):
                return rule.name
        raise KeyError(f"no scheduled rule invokes {deploy}")

    @property
    def monitoring_pipeline(self) -> str:
        return self.function_env("deploy")["MONITORING_PIPELINE_NAME"]

    @property
    def training_pipeline(self) -> str:
        return self.function_env("data_arrival")["TRAINING_PIPELINE_NAME"]
