"""Inference handlers for the SageMaker scikit-learn serving container.

Train copies this file and its two siblings into `model.tar.gz` under `code/` (the model's
environment sets `SAGEMAKER_PROGRAM=inference.py`), so they must stand alone: numpy, pandas and
joblib only, which the container has, and nothing from `pipelines` (the package is not shipped
with the model).

Requests (`serving_input.py` reads the body, `serving_features.py` types it by the model's
schema): `text/csv` or `application/json`, the same values giving the same predictions in
either; a value that cannot be its feature's type, or an unknown category, is refused.

Responses (`Accept`): `application/json` gives `{"predictions": [{"label", "score",
"probabilities"}]}` for classification or `[{"prediction"}]` for regression; `text/csv` gives
one line per row, `label,score` or the predicted value.

A malformed request is the client's mistake and is answered 4xx (400, 406 or 415) with a message
naming the problem; only the model's own failures are 5xx, which is what the endpoint's
Invocation5XXErrors metric (and the rollback alarm on it) counts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import joblib
import numpy as np
import pandas as pd

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
SIBLINGS = ("serving_input", "serving_features")
# A user's own model (model.entry_point) ships as this package under code/ (model_spec.py).
USER_PACKAGE = "user_model"


def _sibling(name: str) -> ModuleType:
    """A module shipped beside this file in the model's code/ folder, loaded by its path under a
    name of this copy's own, so two model versions served by one process (blue and green) each
    use their own; the folder need not be on sys.path."""
    unique = f"{__name__}__{name}"
    if unique not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            unique, Path(__file__).with_name(f"{name}.py")
        )
        if spec is None or spec.loader is None:
            raise ImportError(f"no {name}.py beside {__file__}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        spec.loader.exec_module(module)
    return sys.modules[unique]


if __package__:  # imported from the repository, as pipelines.steps.inference
    from pipelines.steps import serving_features, serving_input
else:  # the model's code/ folder, imported as a top-level module
    serving_input = _sibling("serving_input")
    serving_features = _sibling("serving_features")

CSV, JSON = serving_input.CSV, serving_input.JSON
RequestError = serving_input.RequestError
FeatureError = serving_features.FeatureError
parse_body = serving_input.parse_body
align_features = serving_features.align_features
CODE_FILES = (Path(__file__), *(Path(__file__).with_name(f"{n}.py") for n in SIBLINGS))


class Rejection:
    """A RequestError carried through predict_fn to output_fn as a value (see `_reject`)."""

    def __init__(self, error: RequestError) -> None:
        self.error = error

    def response(self) -> Any:
        import flask  # only built under the Flask worker, where flask is installed

        body = json.dumps({"error": type(self.error).__name__, "message": self.error.message})
        return flask.Response(body, status=self.error.status_code, mimetype=JSON)


def _served_by_flask_worker() -> bool:
    """True inside the single-model scikit-learn container's Flask worker.

    There (https://github.com/aws/sagemaker-scikit-learn-container, serving.py: gunicorn with
    sagemaker-containers' worker) every exception from input_fn/predict_fn/output_fn is wrapped
    in a ClientError and answered 500 (https://github.com/aws/sagemaker-containers,
    src/sagemaker_containers/_functions.py `error_wrapper`, _transformer.py); only a Response
    that output_fn returns keeps its status. So there a rejection travels as a value instead.
    """
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_request_context():
        return False
    app = flask.current_app._get_current_object()  # the app itself, not its context proxy
    return type(app).__module__.startswith("sagemaker_containers")


def _reject(error: RequestError) -> Rejection:
    if _served_by_flask_worker():
        return Rejection(error)
    raise error


def model_fn(model_dir: str) -> dict[str, Any]:
    with open(os.path.join(model_dir, METADATA_FILE), encoding="utf-8") as f:
        metadata = json.load(f)
    path = os.path.join(model_dir, MODEL_FILE)
    if not metadata.get("entry_point"):
        return {"estimator": joblib.load(path), "metadata": metadata}
    return {"estimator": _load_user_estimator(path, model_dir), "metadata": metadata}


def _load_user_estimator(path: str, model_dir: str) -> Any:
    """Unpickle an estimator whose classes may live in the user's package, `user_model`, which
    Train saved under code/. Imported from there only while loading, and taken out of
    sys.modules again: a process that serves two versions side by side (the local runtime's
    blue and green) keeps each one's own code; a loaded object needs no import to predict."""
    code_dir = os.path.join(model_dir, "code")
    before = {k: m for k, m in sys.modules.items() if _is_user_module(k)}
    for name in before:
        del sys.modules[name]
    sys.path.insert(0, code_dir)
    try:
        return joblib.load(path)
    finally:
        sys.path.remove(code_dir)
        for name in [k for k in sys.modules if _is_user_module(k)]:
            del sys.modules[name]
        sys.modules.update(before)


def _is_user_module(name: str) -> bool:
    return name == USER_PACKAGE or name.startswith(USER_PACKAGE + ".")


def input_fn(request_body: str | bytes, request_content_type: str) -> pd.DataFrame | Rejection:
    """Parse the body only; naming the columns needs the model's metadata, so predict_fn does it."""
    try:
        return parse_body(request_body, request_content_type)
    except RequestError as error:
        return _reject(error)


def predict_fn(input_data: pd.DataFrame | Rejection, model: dict[str, Any]) -> Any:
    if isinstance(input_data, Rejection):
        return input_data
    metadata = model["metadata"]
    try:
        frame = align_features(input_data, metadata)
    except FeatureError as error:
        return _reject(RequestError(400, str(error)))
    estimator = model["estimator"]
    if metadata["problem_type"] == "regression":
        return [{"prediction": float(v)} for v in estimator.predict(frame)]
    proba = estimator.predict_proba(frame)
    labels = [str(c) for c in estimator.classes_]
    positive = metadata.get("positive_class")
    pos_index = labels.index(positive) if len(labels) == 2 and positive in labels else None
    out = []
    for row in proba:
        best = int(np.argmax(row))
        # Binary: the score is P(positive class), what ROC curves and thresholds are built on.
        score = float(row[pos_index]) if pos_index is not None else float(row[best])
        out.append(
            {
                "label": labels[best],
                "score": score,
                "probabilities": {lab: float(p) for lab, p in zip(labels, row, strict=True)},
            }
        )
    return out


def output_fn(prediction: Any, accept: str) -> Any:
    if isinstance(prediction, Rejection):
        return prediction.response()
    kind = (accept or JSON).split(";")[0].strip().lower()
    if kind in (JSON, "*/*", ""):
        return json.dumps({"predictions": prediction}), JSON
    if kind == CSV:
        lines = []
        for p in prediction:
            if "prediction" in p:
                lines.append(repr(p["prediction"]))
            else:
                lines.append(f"{p['label']},{p['score']!r}")
        return "\n".join(lines) + "\n", CSV
    # 406: what the container itself answers when output_fn cannot serialize to the Accept type
    # (sagemaker-containers _transformer.py, UnsupportedFormatError from output_fn).
    rejection = _reject(
        RequestError(406, f"unsupported Accept type {accept!r}; use {CSV} or {JSON}")
    )
    return rejection.response()
