"""A served model: model.tar.gz unpacked and its inference handlers imported in-process.

The SageMaker scikit-learn serving container unpacks model.tar.gz into /opt/ml/model and imports
`SAGEMAKER_PROGRAM` from `SAGEMAKER_SUBMIT_DIRECTORY` (`/opt/ml/model/code`). Here the archive
goes to a scratch folder and the module is imported under a name unique to the model, so two
versions (blue and green) live side by side in one process.
"""

from __future__ import annotations

import hashlib
import importlib.util
import tarfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from emulator.pipeline_jobs import split_s3

HANDLERS = ("model_fn", "input_fn", "predict_fn", "output_fn")
_CONTAINER_MODEL_DIR = "/opt/ml/model"


class ModelLoadError(Exception):
    """The model cannot be served (missing archive, handler, or model_fn failed)."""


class ContainerError(Exception):
    """The serving container answered with an HTTP error: `status` and its message.

    The inference toolkit SageMaker's framework containers serve with turns an exception that
    carries a `status_code` (its `GenericInferenceToolkitError`, for example) into that status,
    and any other exception from the handlers into a 500
    (https://github.com/aws/sagemaker-inference-toolkit, `transformer.py`). The host does the
    same, so a model's own way of rejecting a request is what decides 4xx or 5xx.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class LoadedModel:
    name: str
    image: str
    model_dir: Path
    module: ModuleType
    model: Any

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        try:
            data = self.module.input_fn(body, content_type)
            prediction = self.module.predict_fn(data, self.model)
            result = self.module.output_fn(prediction, accept)
        except Exception as exc:  # noqa: BLE001 - whatever the handlers raise, the container answers
            status = getattr(exc, "status_code", None)
            if not isinstance(status, int) or not 400 <= status <= 599:
                status = 500
            raise ContainerError(status, f"{type(exc).__name__}: {exc}") from exc
        # The container lets output_fn return the body alone or (body, content type).
        out, out_type = result if isinstance(result, tuple) else (result, accept)
        return (out.encode("utf-8") if isinstance(out, str) else bytes(out)), out_type


def load_model(*, s3: Any, name: str, container: dict[str, Any], scratch: Path) -> LoadedModel:
    """Download, unpack and import one model (a DescribeModel PrimaryContainer)."""
    url = container.get("ModelDataUrl")
    if not url:
        raise ModelLoadError(f"model {name} has no ModelDataUrl")
    env = container.get("Environment") or {}
    key = hashlib.sha256(f"{name}|{url}".encode()).hexdigest()[:12]
    folder = scratch / f"{name}-{key}"
    model_dir = folder / "model"
    archive = folder / "model.tar.gz"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        bucket, object_key = split_s3(url)
        s3.download_file(bucket, object_key, str(archive))
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(model_dir, filter="data")
    except Exception as exc:  # noqa: BLE001 - S3 errors, corrupt archives: all mean "cannot serve"
        raise ModelLoadError(f"model {name}: cannot unpack {url}: {exc}") from exc
    submit = str(env.get("SAGEMAKER_SUBMIT_DIRECTORY", f"{_CONTAINER_MODEL_DIR}/code"))
    if submit.startswith(_CONTAINER_MODEL_DIR):
        code_dir = model_dir / submit[len(_CONTAINER_MODEL_DIR) :].lstrip("/")
    else:
        raise ModelLoadError(
            f"model {name}: SAGEMAKER_SUBMIT_DIRECTORY {submit!r} is not in "
            "the model archive (only /opt/ml/model/... is served locally)"
        )
    program = code_dir / str(env.get("SAGEMAKER_PROGRAM", "inference.py"))
    if not program.is_file():
        raise ModelLoadError(f"model {name}: no inference script {program.name} in {url}")
    spec = importlib.util.spec_from_file_location(
        f"_served_{name.replace('-', '_')}_{key}", program
    )
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"model {name}: cannot import {program}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - any import error of the model's own code
        raise ModelLoadError(f"model {name}: importing {program.name} failed: {exc}") from exc
    missing = [h for h in HANDLERS if not callable(getattr(module, h, None))]
    if missing:
        raise ModelLoadError(
            f"model {name}: {program.name} lacks {', '.join(missing)} "
            "(the local host has no default handlers)"
        )
    try:
        model = module.model_fn(str(model_dir))
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(f"model {name}: model_fn failed: {type(exc).__name__}: {exc}") from exc
    return LoadedModel(
        name=name,
        image=str(container.get("Image", "")),
        model_dir=model_dir,
        module=module,
        model=model,
    )
