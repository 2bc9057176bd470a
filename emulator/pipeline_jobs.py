"""Processing and training jobs as local processes, under the SageMaker container conventions.

Each job gets a scratch folder standing for `/opt/ml`: inputs are downloaded from S3 (moto) into
it, `/opt/ml/...` arguments are rewritten to it, the process runs with the step's code on
`PYTHONPATH`, and outputs are uploaded back. `JobFailed` carries the reason SageMaker would show:
the job's `/opt/ml/output/message` (processing) or `/opt/ml/output/failure` (training).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from emulator.job_processes import StepProcess
from emulator.pipeline_functions import DefinitionError, UnsupportedError

OPT_ML = "/opt/ml"
RUNNER = Path(__file__).with_name("pipeline_runner.py")
_TAIL = 2000  # characters of a failed process's stderr kept as its reason


class JobFailed(Exception):
    """The job's process failed; the message is its failure reason."""


@dataclass(frozen=True)
class JobEnv:
    cloud_env: dict[str, str]  # endpoint, region and the job role's credentials
    region: str
    code_dir: Path | None  # a local checkout to run instead of the definition's code bundle
    timeout: float = 3600.0
    stop: threading.Event = field(default_factory=threading.Event)  # set: kill the job
    # SageMaker's start-up of a job (instances, image, input download): minutes in AWS, no
    # fixed figure documented; already scaled by the runtime's time scale.
    startup: float = 0.0

    def start_up(self) -> None:
        if self.stop.wait(self.startup):
            raise JobFailed("ClientError: the job was stopped")

    def base(self, extra: dict[str, str]) -> dict[str, str]:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
        env = {k: os.environ[k] for k in keep if k in os.environ}
        env.update({k: str(v) for k, v in extra.items()})
        env.update(self.cloud_env)
        env.update(
            {
                "OMP_NUM_THREADS": "1",
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        return env


def split_s3(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise DefinitionError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def download(s3: Any, uri: str, dest: Path) -> int:
    """S3Prefix semantics: every object whose key starts with the URI's key, each written under
    `dest` at the path `local_paths` gives it."""
    bucket, prefix = split_s3(uri)
    dest.mkdir(parents=True, exist_ok=True)
    keys = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
        if not obj["Key"].endswith("/")  # a folder marker
    ]
    for key, rel in local_paths(keys, prefix).items():
        target = dest.joinpath(*rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))
    return len(keys)


_MAX_NAME_BYTES = 255  # the longest file name Linux and macOS file systems take


def _safe_segment(segment: str) -> str:
    """One path segment that names a file inside its folder and nothing else."""
    if segment in (".", ".."):
        segment = segment.replace(".", "%2E")
    segment = segment.replace("\\", "%5C").replace("\0", "%00")
    raw = segment.encode("utf-8")
    if len(raw) > _MAX_NAME_BYTES:
        digest = hashlib.sha256(raw).hexdigest()[:16]
        head = raw[: _MAX_NAME_BYTES - len(digest) - 1].decode("utf-8", "ignore")
        segment = f"{head}~{digest}"
    return segment


def local_paths(keys: list[str], prefix: str) -> dict[str, tuple[str, ...]]:
    """Key -> path segments under the job's folder. S3 keys are not paths: `a/../../x` must not
    climb out of the folder, `a` and `a/b` can both exist, and a segment can be longer than a
    file name may be. Segments `.` and `..` are escaped, empty ones dropped, long ones shortened
    with a digest, and a key that is also a folder of another key gets a `~object` suffix; the
    mapping is the same for the same keys, and no two keys share a path."""
    out: dict[str, tuple[str, ...]] = {}
    for key in keys:
        rel = key[len(prefix) :] if key.startswith(prefix) else key
        parts = tuple(_safe_segment(p) for p in rel.split("/") if p)
        out[key] = parts or (_safe_segment(key.rsplit("/", 1)[-1] or "object"),)
    folders = {parts[:i] for parts in out.values() for i in range(1, len(parts))}
    taken: set[tuple[str, ...]] = set()
    for key in sorted(out):
        parts = out[key]
        if parts in folders:
            parts = (*parts[:-1], _safe_segment(f"{parts[-1]}~object"))
        while parts in taken or parts in folders:
            digest = hashlib.sha256(key.encode()).hexdigest()[:8]
            parts = (*parts[:-1], _safe_segment(f"{parts[-1]}~{digest}"))
        taken.add(parts)
        out[key] = parts
    return out


def upload(s3: Any, source: Path, uri: str) -> None:
    bucket, prefix = split_s3(uri)
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        key = f"{prefix.rstrip('/')}/{path.relative_to(source).as_posix()}".lstrip("/")
        s3.upload_file(str(path), bucket, key)


def local(opt_ml: Path, container_path: str) -> Path:
    if container_path != OPT_ML and not container_path.startswith(OPT_ML + "/"):
        raise UnsupportedError(f"container path outside /opt/ml: {container_path!r}")
    return opt_ml / container_path[len(OPT_ML) :].lstrip("/")


def map_argument(opt_ml: Path, value: Any) -> str:
    text = str(value)
    if text == OPT_ML or text.startswith(OPT_ML + "/"):
        return str(local(opt_ml, text))
    return text


def unpack_bundle(folder: Path, dest: Path) -> Path:
    archives = sorted(folder.rglob("*.gz")) if folder.is_dir() else [folder]
    if not archives:
        raise JobFailed(f"ClientError: no code bundle (*.gz) under {folder}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archives[0], "r:gz") as tar:
        tar.extractall(dest, filter="data")
    return dest


def run(
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    log: Path,
    timeout: float,
    reason_file: Path,
    stop: threading.Event | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    proc = StepProcess(command, cwd=cwd, env=env, log=log)
    while proc.poll() is None:
        if stop is not None and stop.is_set():
            proc.kill()
            proc.wait()
            raise JobFailed("ClientError: the job was stopped")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise JobFailed(f"ClientError: job exceeded {timeout:.0f}s")
        proc.wait(0.05)
    if proc.returncode == 0:
        return
    if reason_file.is_file() and reason_file.read_text("utf-8").strip():
        reason = reason_file.read_text("utf-8").strip()
    else:
        tail = log.read_text("utf-8", errors="replace")[-_TAIL:].strip()
        failed = [line for line in tail.splitlines() if line.startswith("FAILED: ")]
        reason = failed[-1].removeprefix("FAILED: ") if failed else tail
    raise JobFailed(f"AlgorithmError: {reason} (exit code {proc.returncode})")


def run_processing(args: dict[str, Any], *, job: str, work: Path, s3: Any, env: JobEnv) -> None:
    env.start_up()
    opt_ml = work / "opt_ml"
    code_root: Path | None = env.code_dir
    for item in args.get("ProcessingInputs", []):
        if "S3Input" not in item:
            raise UnsupportedError(f"processing input {item.get('InputName')} without S3Input")
        s3_input = item["S3Input"]
        target = local(opt_ml, s3_input["LocalPath"])
        download(s3, s3_input["S3Uri"], target)
        if item.get("InputName") == "code" and env.code_dir is None:
            code_root = unpack_bundle(target, work / "code")
    if code_root is None:
        raise JobFailed("ClientError: no 'code' input and no local code_dir to run")
    outputs = args.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for out in outputs:
        local(opt_ml, out["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
    app = args["AppSpecification"]
    container_args = [map_argument(opt_ml, a) for a in app.get("ContainerArguments", [])]
    if not container_args:
        raise UnsupportedError("processing step without ContainerArguments (module to run)")
    # The container bootstraps with `python3 -m "$@"`: the first argument names the module.
    command = [sys.executable, str(RUNNER), str(opt_ml), "-m", *container_args]
    extra = {k: str(v) for k, v in (args.get("Environment") or {}).items()}
    run_env = env.base({**extra, "PYTHONPATH": str(code_root)})
    run(
        command,
        cwd=code_root,
        env=run_env,
        log=work / "job.log",
        timeout=env.timeout,
        reason_file=opt_ml / "output" / "message",
        stop=env.stop,
    )
    for out in outputs:
        s3_output = out["S3Output"]
        upload(s3, local(opt_ml, s3_output["LocalPath"]), s3_output["S3Uri"])


def run_training(args: dict[str, Any], *, job: str, work: Path, s3: Any, env: JobEnv) -> str:
    """Run the script-mode training job; returns the S3 URI of its model.tar.gz."""
    env.start_up()
    opt_ml = work / "opt_ml"
    hyper = {k: str(v) for k, v in (args.get("HyperParameters") or {}).items()}
    program = hyper.get("sagemaker_program")
    if not program:
        raise UnsupportedError("training step without sagemaker_program (only script mode runs)")
    if env.code_dir is not None:
        code_root = env.code_dir
    else:
        submit = hyper.get("sagemaker_submit_directory", "")
        download(s3, submit, opt_ml / "input" / "submit")
        code_root = unpack_bundle(opt_ml / "input" / "submit", opt_ml / "code")
    channels: dict[str, str] = {}
    for channel in args.get("InputDataConfig", []):
        name = channel["ChannelName"]
        source = channel.get("DataSource", {}).get("S3DataSource")
        if source is None:
            raise UnsupportedError(f"training channel {name} without S3DataSource")
        folder = opt_ml / "input" / "data" / name
        download(s3, source["S3Uri"], folder)
        channels[name] = str(folder)
    model_dir, output_dir = opt_ml / "model", opt_ml / "output" / "data"
    model_dir.mkdir(parents=True, exist_ok=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    user_hps = {k: v for k, v in hyper.items() if not k.startswith("sagemaker_")}
    extra = {
        "SM_MODEL_DIR": str(model_dir),
        "SM_OUTPUT_DATA_DIR": str(output_dir),
        "SM_CHANNELS": json.dumps(sorted(channels)),
        "SM_HPS": json.dumps(user_hps),
        "SM_CURRENT_HOST": "algo-1",
        "SM_HOSTS": json.dumps(["algo-1"]),
        "SM_NUM_CPUS": "1",
        "SM_NUM_GPUS": "0",
        "SM_TRAINING_ENV": json.dumps({"job_name": job, "hyperparameters": user_hps}),
        "PYTHONPATH": str(code_root),
        **{f"SM_CHANNEL_{name.upper()}": path for name, path in channels.items()},
        **{k: str(v) for k, v in (args.get("Environment") or {}).items()},
    }
    flags = [part for k, v in user_hps.items() for part in (f"--{k}", v)]
    command = [sys.executable, str(RUNNER), str(opt_ml), str(code_root / program), *flags]
    run(
        command,
        cwd=code_root,
        env=env.base(extra),
        log=work / "job.log",
        timeout=float(args.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", env.timeout)),
        reason_file=opt_ml / "output" / "failure",
        stop=env.stop,
    )
    output_path = args["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    uri = f"{output_path}/{job}/output/model.tar.gz"
    bucket, key = split_s3(uri)
    s3.put_object(Bucket=bucket, Key=key, Body=tar_folder(model_dir))
    return uri


def tar_folder(folder: Path) -> bytes:
    """The folder's contents at the archive root, as SageMaker packs SM_MODEL_DIR."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return raw.getvalue()
