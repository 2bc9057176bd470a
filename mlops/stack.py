"""Which deployed stack an `mlops` command talks to, from wherever it is run.

In order: the config file given with `--config`; with `--endpoint-url`, the stack the local
runtime runs (read from its deployed functions, as the runtime itself reads its names); the
project folder holding the current folder (`config/dev.json` beside `cdk.json`, in it or any
folder above); otherwise the one stack deployed in the account. Nothing found is a StackError
naming each place looked at.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.config import load_config
from infra.names import PhysicalNames

DEFAULT_CONFIG = Path("config/dev.json")
PROJECT_MARKER = "cdk.json"


class StackError(Exception):
    """No stack to talk to; the message says what is missing and where it was looked for."""


@dataclass(frozen=True)
class Stack:
    prefix: str
    training_pipeline: str
    model_group: str
    endpoint: str
    artifacts_bucket: str
    drift_alarms: tuple[str, ...]
    source: str  # where the names were read, for the user
    # Drift alarm name -> the feature it watches (None: the score alarm, or not known).
    alarm_features: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def drift_alarm_prefix(self) -> str:
        """The common start of the drift alarms' names, to list them in few calls."""
        return os.path.commonprefix(list(self.drift_alarms))


def project_config(start: Path) -> Path | None:
    """`config/dev.json` of the project folder holding `start`, if any."""
    for folder in (start, *start.parents):
        if (folder / PROJECT_MARKER).is_file() and (folder / DEFAULT_CONFIG).is_file():
            return folder / DEFAULT_CONFIG
    return None


def from_config(path: Path, account: str, region: str) -> Stack:
    config = load_config(path)
    names = config.names
    return Stack(
        prefix=config.prefix,
        training_pipeline=names.training_pipeline,
        model_group=names.model_group,
        endpoint=names.endpoint,
        artifacts_bucket=names.bucket("artifacts", account, region),
        drift_alarms=tuple(config.drift_alarm_names),
        source=str(path),
        alarm_features=names.drift_alarm_features(f.name for f in config.dataset.features),
    )


def from_deployment(make: Callable[[str], Any], where: str) -> Stack:
    """The stack whose functions are deployed where `make`'s clients point; exactly one."""
    deploys: dict[str, dict[str, str]] = {}
    for page in make("lambda").get_paginator("list_functions").paginate():
        for function in page.get("Functions", []):
            env = (function.get("Environment") or {}).get("Variables") or {}
            name = function["FunctionName"]
            # The deploy function of a stack: `<prefix>-deploy` (PhysicalNames.function).
            if name.endswith("-deploy") and {"ENDPOINT_NAME", "MODEL_PACKAGE_GROUP_NAME"} <= set(
                env
            ):
                deploys[name.removesuffix("-deploy")] = env
    if not deploys:
        raise StackError(f"no stack is deployed at {where}")
    if len(deploys) > 1:
        raise StackError(
            f"{len(deploys)} stacks are deployed at {where} ({', '.join(sorted(deploys))}): "
            "pass --config with the config file of the one you mean"
        )
    ((prefix, deploy),) = deploys.items()
    retrain = make("lambda").get_function_configuration(
        FunctionName=PhysicalNames(prefix).function("drift_retrain")
    )
    env = (retrain.get("Environment") or {}).get("Variables") or {}
    arrival = make("lambda").get_function_configuration(
        FunctionName=PhysicalNames(prefix).function("data_arrival")
    )
    # The schema's columns (features and target): enough to name each alarm's feature.
    columns = json.loads(
        ((arrival.get("Environment") or {}).get("Variables") or {}).get("SCHEMA_COLUMNS", "[]")
    )
    return Stack(
        prefix=prefix,
        training_pipeline=env["TRAINING_PIPELINE_NAME"],
        model_group=deploy["MODEL_PACKAGE_GROUP_NAME"],
        endpoint=deploy["ENDPOINT_NAME"],
        artifacts_bucket=deploy["ARTIFACTS_BUCKET"],
        drift_alarms=tuple(sorted(json.loads(env["DRIFT_ALARM_NAMES"]))),
        source=f"the stack deployed at {where}",
        alarm_features=PhysicalNames(prefix).drift_alarm_features(columns),
    )


def find_stack(
    *,
    config: str | None,
    endpoint_url: str | None,
    make: Callable[[str], Any],
    account: Callable[[], str],
    region: str,
    cwd: Path | None = None,
) -> Stack:
    # A bad config raises ConfigError, which names every problem of it.
    if config is not None:
        return from_config(Path(config), account(), region)
    if endpoint_url:
        return from_deployment(make, f"the local runtime {endpoint_url}")
    found = project_config((cwd or Path.cwd()).resolve())
    if found is not None:
        return from_config(found, account(), region)
    try:
        return from_deployment(make, f"your AWS account in {region}")
    except (StackError, BotoCoreError, ClientError) as error:
        raise StackError(
            f"no stack to talk to: {cwd or Path.cwd()} is not in a project folder (neither it nor "
            f"a folder above holds {PROJECT_MARKER} and {DEFAULT_CONFIG}), and looking in your "
            f"AWS account found none ({error}); pass --config <the stage's config file>"
        ) from None
