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
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import joblib
import numpy as np
import pandas as pd

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
CSV = "text/csv"
JSON = "application/json"


def model_fn(model_dir: str) -> dict[str, Any]:
    with open(os.path.join(model_dir, METADATA_FILE), encoding="utf-8") as f:
        metadata = json.load(f)
    return {"estimator": joblib.load(os.path.join(model_dir, MODEL_FILE)), "metadata": metadata}


def input_fn(request_body: str | bytes, request_content_type: str) -> pd.DataFrame:
    """Parse the body only; naming the columns needs the model's metadata, so predict_fn does it."""
    return parse_body(request_body, request_content_type)


def predict_fn(input_data: pd.DataFrame, model: dict[str, Any]) -> list[dict[str, Any]]:
    metadata = model["metadata"]
    frame = align_features(input_data, metadata)
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


def output_fn(prediction: list[dict[str, Any]], accept: str) -> tuple[str, str]:
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
    raise ValueError(f"unsupported Accept type {accept!r}; use {CSV} or {JSON}")


def parse_body(body: str | bytes, content_type: str) -> pd.DataFrame:
    """A frame of raw values: named columns when the payload names them, else positions 0..n-1."""
    text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == CSV:
        if not text.strip():
            return pd.DataFrame()
        # Everything as text: a header row must not coerce a numeric column to strings later.
        return pd.read_csv(io.StringIO(text), header=None, dtype=str, skip_blank_lines=True)
    if kind == JSON:
        payload = json.loads(text)
        if isinstance(payload, dict) and "instances" in payload:
            payload = payload["instances"]
        if isinstance(payload, dict):
            payload = [payload]
        if not isinstance(payload, list):
            raise ValueError("JSON body must be a record, a list, or {'instances': [...]}")
        if payload and all(isinstance(r, dict) for r in payload):
            return pd.DataFrame.from_records(payload)
        if all(isinstance(r, list) for r in payload):
            return pd.DataFrame(payload)
        raise ValueError("JSON instances must all be records or all be lists")
    raise ValueError(f"unsupported content type {content_type!r}; use {CSV} or {JSON}")


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
            raise ValueError(
                f"expected {len(features)} values per row ({', '.join(features)}), "
                f"got {len(frame.columns)}"
            )
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ValueError(f"missing features: {', '.join(missing)}")
    out = {}
    for name in features:
        col = frame[name]
        if kinds[name] == "numeric":
            out[name] = pd.to_numeric(col, errors="coerce").astype(float)
        else:
            out[name] = col.map(_category_text).astype(object)
    return pd.DataFrame(out, columns=features)


def _category_text(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return np.nan
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # JSON 2 and CSV "2" are the same category
    return str(value)
