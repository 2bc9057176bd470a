"""Building SageMaker pipeline definitions offline: no network, no credentials, no AWS call.

The SDK (3.x) wants a region at import, validates roles against IAM, creates a boto3 client at
import (which probes the EC2 metadata service for credentials), and sends telemetry. Each is
switched off here, before `sagemaker` is imported, and the session below never asks AWS
anything: roles are `${PipelineRoleArn}` placeholders, every S3 location is explicit.

The processing container command (see `processing_command`):

    ContainerEntrypoint: ["/bin/sh", "-c", PROCESSING_BOOTSTRAP, "bootstrap"]
    ContainerArguments:  ["pipelines.entrypoints.<step>", "--arg", "value", ...]

The bootstrap unpacks the code bundle (a ProcessingInput at /opt/ml/processing/input/code),
installs pydantic and pyarrow if the image lacks them, and runs
`python3 -m <first argument> <the rest>`.
A local runtime can skip the shell: run `python -m ContainerArguments[0] ContainerArguments[1:]`
with the bundle (or the repository) on PYTHONPATH and `/opt/ml/` in arguments mapped to a folder.

Every job's ML storage volume is encrypted with the stack's key (`${KmsKeyArn}`), except on
instance types with local NVMe storage, which SageMaker encrypts in hardware and for which it
refuses a volume key. The jobs are not network-isolated: Evaluate and the drift check call S3 (and
CloudWatch) themselves, and every step needs pydantic (and the data steps pyarrow), which the
scikit-learn image may lack and which the bootstrap (and the training container, from
`requirements.txt`) installs from PyPI at start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import warnings
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
# Without credentials botocore would probe 169.254.169.254 when the SDK creates a client at import.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

import boto3  # noqa: E402
from sagemaker.core.processing import Processor  # noqa: E402
from sagemaker.core.shapes import ProcessingInput, ProcessingS3Input  # noqa: E402
from sagemaker.core.workflow.pipeline_context import PipelineSession  # noqa: E402
from sagemaker.mlops.workflow.steps import ProcessingStep  # noqa: E402

CODE_INPUT_DIR = "/opt/ml/processing/input/code"
VOLUME_KEY = "${KmsKeyArn}"
# Instance families with local NVMe instance storage: a "d" in the family suffix (m5d, g4dn,
# p4d, m6id...) and these. SageMaker refuses a volume key for them (API_ResourceConfig,
# API_ProcessingClusterConfig: "You can't request a VolumeKmsKeyId when using an instance type
# with local storage"; the list: https://docs.aws.amazon.com/ec2/latest/instancetypes/ ->
# instance store specifications).
_INSTANCE_STORE_FAMILIES = frozenset(
    {"g5", "g6", "g6e", "gr6", "p5", "p5e", "p5en", "trn1", "trn1n", "trn2"}
)
_D_SUFFIX = re.compile(r"^[a-z]+\d+[a-z-]*d[a-z-]*$")
# At most 256 characters: SageMaker's limit for one ContainerEntrypoint item. The bundle is
# the only file in its input folder; as a CDK asset its key ends in `.gz`, not `.tar.gz`.
PROCESSING_BOOTSTRAP = (
    "set -e; mkdir -p /tmp/code; "
    f"tar -xzf {CODE_INPUT_DIR}/*.gz -C /tmp/code; "
    "python3 -c 'import pydantic,pyarrow' 2>/dev/null || pip install -q 'pydantic>=2,<3' pyarrow; "
    'cd /tmp/code; exec python3 -m "$@"'
)
PROCESSING_ENTRYPOINT = ["/bin/sh", "-c", PROCESSING_BOOTSTRAP, "bootstrap"]
# Any role ARN gets the SDK past its checks; the definition gets the placeholder instead.
_SHAPE_ONLY_ROLE = "arn:aws:iam::000000000000:role/offline-build"
_SDK_CONFIG = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}


class OfflinePipelineSession(PipelineSession):
    """A PipelineSession that refuses anything needing AWS instead of quietly calling it."""

    def expand_role(self, role: str) -> str:
        return role  # a ${PipelineRoleArn} placeholder, resolved by CloudFormation

    def default_bucket(self) -> str:
        raise RuntimeError("offline build: every S3 location must be given explicitly")


class PlaceholderProcessor(Processor):
    """A Processor whose inputs may be `${Placeholder}` URIs (the code bundle).

    The stock one uploads any input that is not literally `s3://...` to the default bucket; ours
    are all remote already, named, and resolved by CloudFormation, so they are kept as given.
    """

    def _normalize_inputs(self, inputs: Any = None, kms_key: Any = None) -> list[Any]:
        return list(inputs or [])


def volume_kms_key(instance_type: str) -> str | None:
    """The volume key for a job on `instance_type` (its default in the definition), or None
    when the type has local instance storage."""
    parts = instance_type.split(".")
    family = parts[1] if len(parts) == 3 and parts[0] == "ml" else instance_type
    if family in _INSTANCE_STORE_FAMILIES or _D_SUFFIX.match(family):
        return None
    return VOLUME_KEY


def offline_session() -> OfflinePipelineSession:
    # Static dummy credentials: the chain is never walked, so no file, SSO or metadata lookup.
    boto_session = boto3.Session(
        region_name=os.environ["AWS_DEFAULT_REGION"],
        aws_access_key_id="offline",
        aws_secret_access_key="offline",
    )
    session = OfflinePipelineSession(
        boto_session=boto_session, default_bucket="offline-unused", sagemaker_config=_SDK_CONFIG
    )
    # Given at construction so no user config file is read (builds must not depend on the
    # machine), then dropped: the SDK re-validates a non-empty config against its JSON schema
    # on every lookup, which costs most of a build. Telemetry is off through quiet_sdk().
    session.sagemaker_config = None
    return session


@contextlib.contextmanager
def quiet_sdk() -> Iterator[None]:
    """No telemetry (a network call), and no logs or warnings: `python -m` output is the JSON."""
    from sagemaker.core.telemetry import telemetry_logging

    send = telemetry_logging._send_telemetry_request
    telemetry_logging._send_telemetry_request = _no_telemetry
    names = ["sagemaker"] + [
        n for n in logging.root.manager.loggerDict if n.startswith("sagemaker")
    ]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        telemetry_logging._send_telemetry_request = send


def _no_telemetry(*args: Any, **kwargs: Any) -> None:
    return None


def s3_input(name: str, source: Any, local_path: str) -> ProcessingInput:
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=source, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
        ),
    )


def processing_step(
    session: OfflinePipelineSession,
    name: str,
    module: str,
    *,
    instance_type: Any,
    instance_count: Any,
    volume_kms_key: str | None,
    inputs: list[ProcessingInput],
    outputs: list[Any],
    args: list[Any],
    property_files: list[Any] | None = None,
) -> ProcessingStep:
    """A step running `pipelines.entrypoints.<module>` from the code bundle in the sklearn image."""
    processor = PlaceholderProcessor(
        role="${PipelineRoleArn}",
        image_uri="${SklearnImageUri}",
        instance_count=instance_count,
        instance_type=instance_type,
        volume_kms_key=volume_kms_key,
        entrypoint=PROCESSING_ENTRYPOINT,
        sagemaker_session=session,
        env={"AWS_DEFAULT_REGION": "${AWS::Region}"},
    )
    step_args = processor.run(
        inputs=[s3_input("code", "${CodeBundleUri}", CODE_INPUT_DIR), *inputs],
        outputs=outputs,
        arguments=processing_command(module, *args),
    )
    return ProcessingStep(name=name, step_args=step_args, property_files=property_files)


def canonical(definition: str) -> str:
    """The SDK's JSON with sorted keys: byte-identical for identical pipelines."""
    return json.dumps(json.loads(definition), sort_keys=True, separators=(",", ":"))


def processing_command(module: str, *args: Any) -> list[Any]:
    """ContainerArguments: the entry module first, then its arguments."""
    return [f"pipelines.entrypoints.{module}", *args]


def check_placeholders(definition: str, allowed: tuple[str, ...]) -> None:
    """Fn::Sub fails on unknown ${...}: make sure every one is a placeholder we declared."""
    import re

    used = set(re.findall(r"\$\{([^}]*)\}", definition))
    unknown = sorted(used - set(allowed))
    if unknown:
        raise ValueError(f"definition has undeclared placeholders: {unknown}")
