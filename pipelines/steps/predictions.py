"""What the model answered, as a frame: from captured outputs (monitoring) or from predict_fn
(the test split at training time), so both sides of prediction drift are read the same way.

Classification rows carry `predicted_label` (text), `score` (the positive class's probability
for two classes, the winning class's otherwise) and, when the answer was JSON, `probabilities`;
regression rows carry `prediction`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipelines.steps.capture import CapturedEvent
from pipelines.steps.serving_input import CSV

PREDICTED_LABEL, SCORE, PREDICTION, PROBABILITIES = (
    "predicted_label",
    "score",
    "prediction",
    "probabilities",
)
ID_COLUMNS = ("key", "event_id", "inference_id", "inference_time", "row")
_ERROR_SAMPLES = 5


def output_kinds(problem_type: str) -> dict[str, str]:
    """The drift engine's kinds of the output columns prediction drift compares."""
    if problem_type == "regression":
        return {PREDICTION: "numeric"}
    return {PREDICTED_LABEL: "categorical", SCORE: "numeric"}


def outputs_frame(predictions: Sequence[Mapping[str, Any]], problem_type: str) -> pd.DataFrame:
    """predict_fn's answers (a list of dicts) as the output columns."""
    if problem_type == "regression":
        return pd.DataFrame({PREDICTION: [float(p["prediction"]) for p in predictions]})
    return pd.DataFrame(
        {
            PREDICTED_LABEL: [str(p["label"]) for p in predictions],
            SCORE: [float(p["score"]) for p in predictions],
            PROBABILITIES: [p.get("probabilities") for p in predictions],
        }
    )


@dataclass
class PredictionRows:
    frame: pd.DataFrame
    n_skipped: int = 0  # events whose output could not be read
    errors: list[str] = field(default_factory=list)


def prediction_rows(events: Iterable[CapturedEvent], problem_type: str) -> PredictionRows:
    """One row per predicted row of each captured event, with the event's ids and time."""
    records: list[dict[str, Any]] = []
    out = PredictionRows(frame=pd.DataFrame())
    for event in events:
        try:
            if event.output is None:
                raise ValueError("the event has no captured output (capture Input only?)")
            answers = parse_output(event.output, event.output_type or CSV, problem_type)
        except (ValueError, KeyError, TypeError) as exc:
            out.n_skipped += 1
            if len(out.errors) < _ERROR_SAMPLES:
                out.errors.append(f"event {event.event_id}: {type(exc).__name__}: {exc}")
            continue
        ids = {
            "key": event.key,
            "event_id": event.event_id,
            "inference_id": event.inference_id,
            "inference_time": event.inference_time,
        }
        records.extend({**ids, "row": i, **answer} for i, answer in enumerate(answers))
    columns = [*ID_COLUMNS, *_answer_columns(problem_type)]
    out.frame = pd.DataFrame.from_records(records, columns=columns)
    return out


def _answer_columns(problem_type: str) -> list[str]:
    if problem_type == "regression":
        return [PREDICTION]
    return [PREDICTED_LABEL, SCORE, PROBABILITIES]


def parse_output(text: str, content_type: str, problem_type: str) -> list[dict[str, Any]]:
    """The answers of inference.output_fn: JSON `{"predictions": [...]}` or CSV lines
    (`label,score`, or the predicted value)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == CSV:
        lines = [line for line in text.splitlines() if line.strip()]
        if problem_type == "regression":
            return [{PREDICTION: float(line)} for line in lines]
        answers = []
        for line in lines:
            label, score = line.rsplit(",", 1)
            answers.append(
                {PREDICTED_LABEL: label.strip(), SCORE: float(score), PROBABILITIES: None}
            )
        return answers
    payload = json.loads(text)
    if isinstance(payload, dict):
        payload = payload["predictions"]
    if not isinstance(payload, list):
        raise ValueError(f"expected a list of predictions, got {type(payload).__name__}")
    if problem_type == "regression":
        return [{PREDICTION: float(p["prediction"] if isinstance(p, dict) else p)} for p in payload]
    return [
        {
            PREDICTED_LABEL: str(p["label"]),
            SCORE: float(p["score"]),
            PROBABILITIES: dict(p["probabilities"]) if p.get("probabilities") else None,
        }
        for p in payload
    ]
