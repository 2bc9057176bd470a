"""Inference handlers for the SageMaker scikit-learn serving container.

Train copies this file into `model.tar.gz` as `code/inference.py` (the model's environment sets
`SAGEMAKER_PROGRAM=inference.py`), so it must stand alone: numpy, pandas and joblib only, which
the container has, and nothing from `pipelines` (the package is not shipped with the model).

Accepted requests:
- `text/csv`: rows of feature values in the schema's feature order, with or without a header row
  (a header may list the features in any order); this is also what data capture records.
- `application/json`: `{"instances": [...]}` or a bare list, of records (`{"feature": value}`)
  or of lists in feature order; a single record object is one row.

Responses (`Accept`): `application/json` gives `{"predictions": [{"label", "score",
"probabilities"}]}` for classification or `[{"prediction"}]` for regression; `text/csv` gives
one line per row, `label,score` or the predicted value.

A malformed request is the client's mistake and is answered 4xx (400, 406 or 415) with a message
naming the problem; only the model's own failures are 5xx, which is what the endpoint's
Invocation5XXErrors metric (and the rollback alarm on it) counts.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import sys
from typing import Any

import joblib
import numpy as np
import pandas as pd

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
CSV = "text/csv"
JSON = "application/json"
# `{"instances": [[...]]}` is 3 levels deep; anything much deeper is not a request we accept,
# and json.loads recurses once per level (a deep enough body is a RecursionError, a 500).
MAX_JSON_DEPTH = 5
# A float holds at most 309 integer digits; int() of more than 4300 digits raises besides.
_MAX_INT_DIGITS = 309
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")

try:
    # The toolkit's transformer answers a BaseInferenceToolkitError with its status_code and any
    # other exception with a 500 (https://github.com/aws/sagemaker-inference-toolkit,
    # src/sagemaker_inference/transformer.py and errors.py).
    from sagemaker_inference.errors import GenericInferenceToolkitError as _StatusError
except ImportError:  # not in this environment: an equivalent that carries the status

    class _StatusError(Exception):  # type: ignore[no-redef]
        def __init__(self, status_code: int, message: str | None = None, phrase=None) -> None:
            self.status_code = status_code
            self.message = message or "Invalid Request"
            self.phrase = phrase or self.message
            super().__init__(status_code, self.message, self.phrase)


class RequestError(_StatusError):
    """The request is malformed: a 4xx with a message naming the problem and the value."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(status_code, message, message)

    def __str__(self) -> str:
        return self.message


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
    return {"estimator": joblib.load(os.path.join(model_dir, MODEL_FILE)), "metadata": metadata}


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
    except RequestError as error:
        return _reject(error)
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


def parse_body(body: str | bytes, content_type: str) -> pd.DataFrame:
    """A frame of raw values: named columns when the payload names them, else positions 0..n-1."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in (CSV, JSON):
        raise RequestError(415, f"unsupported content type {content_type!r}; use {CSV} or {JSON}")
    text = _text(body)
    if not text.strip():
        raise RequestError(400, "empty request body: send at least one row")
    return _parse_csv(text) if kind == CSV else _parse_json(text)


def _text(body: str | bytes) -> str:
    if isinstance(body, bytes | bytearray):
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = bytes(body)[exc.start : exc.start + 4]
            raise RequestError(
                400, f"request body is not valid UTF-8: byte {bad!r} at offset {exc.start}"
            ) from None
    if "\ufffd" in body:  # the Flask worker decodes text bodies with errors="replace"
        raise RequestError(400, "request body is not valid UTF-8 (it holds U+FFFD)")
    return body


def _parse_csv(text: str) -> pd.DataFrame:
    try:
        # Everything as text: a header row must not coerce a numeric column to strings later.
        return pd.read_csv(io.StringIO(text), header=None, dtype=str, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise RequestError(400, f"malformed CSV: {str(exc).strip()}") from None


def _parse_json(text: str) -> pd.DataFrame:
    if _too_deep(text):
        raise RequestError(400, f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        payload = json.loads(
            text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant
        )
    except json.JSONDecodeError as exc:
        raise RequestError(400, f"malformed JSON: {exc}") from None
    if isinstance(payload, dict) and "instances" in payload:
        payload = payload["instances"]
    if isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list):
        raise RequestError(400, "JSON body must be a record, a list, or {'instances': [...]}")
    if not payload:
        raise RequestError(400, "empty request: the JSON instances list has no rows")
    if all(isinstance(r, dict) for r in payload):
        for i, record in enumerate(payload):
            _scalars(i, record.items())
        return pd.DataFrame.from_records(payload)
    if all(isinstance(r, list) for r in payload):
        widths = {len(r) for r in payload}
        if len(widths) > 1:
            raise RequestError(400, f"JSON rows differ in length: {sorted(widths)} values")
        for i, row in enumerate(payload):
            _scalars(i, enumerate(row))
        return pd.DataFrame(payload)
    raise RequestError(400, "JSON instances must all be records or all be lists")


def _too_deep(text: str) -> bool:
    """Whether brackets outside strings nest past MAX_JSON_DEPTH; stops at the first level too
    many, so a 6 MB run of "[" costs no more than a shallow body."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = 0
    for ch in brackets:
        depth += 1 if ch in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


def _json_int(literal: str) -> int:
    if len(literal.lstrip("-")) > _MAX_INT_DIGITS:
        raise RequestError(
            400, f"number {literal[:20]}... ({len(literal)} digits) does not fit a float"
        )
    return int(literal)


def _json_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise RequestError(400, f"number {literal[:40]} does not fit a float")
    return value


def _json_constant(literal: str) -> float:
    raise RequestError(400, f"{literal} is not a finite number; send null for a missing value")


def _scalars(row: int, cells: Any) -> None:
    for key, value in cells:
        if isinstance(value, dict | list):
            raise RequestError(
                400, f"row {row}, {key!r}: a value must be a number, string or null, not {value!r}"
            )


def align_features(raw: pd.DataFrame, metadata: dict[str, Any]) -> pd.DataFrame:
    """Name, order and type the columns the way the estimator was trained."""
    features: list[str] = metadata["features"]
    kinds: dict[str, str] = metadata["feature_kinds"]
    frame = raw
    if len(frame.columns) and all(isinstance(c, int | np.integer) for c in frame.columns):
        first = [str(v).strip() for v in frame.iloc[0].tolist()] if len(frame) else []
        if first and set(features) <= set(first):
            frame = frame.iloc[1:].reset_index(drop=True)
            frame.columns = first
        elif len(frame.columns) == len(features):
            frame = frame.set_axis(features, axis=1)
        else:
            raise RequestError(
                400,
                f"expected {len(features)} values per row ({', '.join(features)}), "
                f"got {len(frame.columns)}",
            )
    names = [str(c) for c in frame.columns]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise RequestError(400, f"features given more than once: {', '.join(repeated)}")
    missing = [f for f in features if f not in names]
    unknown = [c for c in names if c not in features]
    if missing or unknown:
        got = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unknown {', '.join(unknown)}" if unknown else "",
            )
            if part
        )
        raise RequestError(400, f"expected features {', '.join(features)}; got {got}")
    if len(frame) == 0:
        raise RequestError(400, "empty request: a header row but no values")
    out = {}
    for name in features:
        col = frame[name]
        if kinds[name] == "numeric":
            out[name] = _numeric(name, col)
        else:
            out[name] = col.map(_category_text).astype(object)
    return pd.DataFrame(out, columns=features)


def _numeric(name: str, col: pd.Series) -> pd.Series:
    """Numbers as floats; text that is no number is missing, a number past float's range is
    refused (it would reach the estimator as infinity)."""
    try:
        values = pd.to_numeric(col, errors="coerce").astype(float)
    except (OverflowError, TypeError, ValueError):
        values = None
    if values is not None and not np.isinf(values).any():
        return values
    for value in col:
        if _out_of_range(value):
            shown = (
                str(value)
                if len(str(value)) <= 40
                else f"{str(value)[:20]}... ({len(str(value))} chars)"
            )
            raise RequestError(400, f"feature {name}: {shown} does not fit a finite float")
    raise RequestError(400, f"feature {name}: values must be numbers")


def _out_of_range(value: Any) -> bool:
    try:
        return math.isinf(float(value))
    except OverflowError:
        return True
    except (TypeError, ValueError):
        return False


def _category_text(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return np.nan
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # JSON 2 and CSV "2" are the same category
    return str(value)
