"""What every entry script shares: arguments, the schema, failure reporting, S3 reads.

Configuration reaches a container as command-line arguments only (what the pipeline definition
can carry), and SageMaker limits each ContainerArguments item to 256 characters. So structured
values (the schema, per-feature thresholds) travel as compact JSON, zlib-compressed and base64url
encoded, split over several arguments: `--schema <part> <part> ...`. Deterministic, so the
definition is identical on every build, and free of `${`, so CloudFormation's Fn::Sub leaves it be.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlparse

from pipelines.schema import DatasetSchema

PART_LENGTH = 200
# Where SageMaker reads a failed job's reason from: processing jobs report /opt/ml/output/message
# as ExitMessage; training jobs report /opt/ml/output/failure as FailureReason.
PROCESSING_MESSAGE_FILE = "/opt/ml/output/message"
TRAINING_FAILURE_FILE = "/opt/ml/output/failure"


def pack_json(value: Any) -> list[str]:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    packed = base64.urlsafe_b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")
    return [packed[i : i + PART_LENGTH] for i in range(0, len(packed), PART_LENGTH)]


def unpack_json(parts: Sequence[str]) -> Any:
    return json.loads(zlib.decompress(base64.urlsafe_b64decode("".join(parts))).decode("utf-8"))


def pack_schema(schema: DatasetSchema) -> list[str]:
    return pack_json(json.loads(schema.to_json()))


def unpack_schema(parts: Sequence[str]) -> DatasetSchema:
    return DatasetSchema.model_validate(unpack_json(parts))


def add_schema_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--schema", nargs="+", required=True, help="the dataset schema, as pack_schema() parts"
    )


def log(message: str) -> None:
    print(message, flush=True)


def fail(message: str, message_file: Path) -> NoReturn:
    """Exit non-zero with the reason where SageMaker (and the local runtime) will show it."""
    try:
        message_file.parent.mkdir(parents=True, exist_ok=True)
        message_file.write_text(message[:1024], encoding="utf-8")
    except OSError:
        pass  # the reason still goes to the log below
    print(f"FAILED: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, sort_keys=True, default=str), encoding="utf-8")
    return path


def unpack_model(model_input: Path, dest: Path) -> Path:
    """The model directory from a training job's model.tar.gz (or an already unpacked folder)."""
    if (model_input / "model.joblib").exists():
        return model_input
    archives = sorted(model_input.rglob("model.tar.gz")) if model_input.is_dir() else [model_input]
    if not archives:
        raise FileNotFoundError(f"no model.tar.gz under {model_input}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archives[0], "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # Pythons before the extraction filters (older serving images)
            tar.extractall(dest)  # noqa: S202 - our own training job's archive
    return dest


def s3_client() -> Any:
    """boto3 honours AWS_ENDPOINT_URL by itself, which is how the local runtime redirects us."""
    import boto3  # only the steps that need S3 beyond declared inputs import it

    return boto3.client("s3")


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def read_s3_text(uri: str, client: Any | None = None) -> str | None:
    """The object's text, or None when it does not exist (e.g. no live model yet)."""
    from botocore.exceptions import ClientError

    bucket, key = split_s3_uri(uri)
    try:
        body = (client or s3_client()).get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    return body.decode("utf-8")


def env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name, default))
