"""A request body to the served model, read into raw rows (typing them is serving_features.py).

Shipped beside `inference.py` in the model's `code/` folder, so it stands alone too: numpy and
pandas only. Accepted bodies (README, "Calling the endpoint"):

- `text/csv`: rows of values in the schema's feature order, or under a header row naming the
  features in any order; this is also what data capture records. A JSON document sent as CSV is
  refused, not read as text.
- `application/json`: `{"instances": [...]}`, a bare list, or a single record; rows are records
  (`{"feature": value}`) or lists in feature order; values are numbers, strings or null.

A malformed body is a RequestError: a 4xx (400 or 415) with a message naming the problem.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any

import pandas as pd

CSV = "text/csv"
JSON = "application/json"
CONTENT_TYPES = (CSV, JSON)
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


def parse_body(body: str | bytes, content_type: str) -> pd.DataFrame:
    """A frame of raw values: named columns when the payload names them, else positions 0..n-1."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in CONTENT_TYPES:
        raise RequestError(
            415, f"unsupported content type {content_type!r}; use {' or '.join(CONTENT_TYPES)}"
        )
    text = _text(body)
    if not text.strip():
        raise RequestError(400, "empty request body: send at least one row")
    if kind == CSV:
        if _is_json(text):
            raise RequestError(
                400, f"the body is JSON but was sent as {CSV}; send it as {JSON}, or send CSV rows"
            )
        return _parse_csv(text)
    return _parse_json(text)


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


def _is_json(text: str) -> bool:
    """Whether a CSV body is really a JSON document (a record or a list of rows)."""
    if text.lstrip()[:1] not in ("{", "["):
        return False
    if _too_deep(text):
        return True
    try:
        return isinstance(json.loads(text), dict | list)
    except ValueError:
        return False


def _parse_csv(text: str) -> pd.DataFrame:
    try:
        # Everything as text, with the missing markers and leading spaces read as training reads
        # its CSVs (pipelines/steps/tabular.py).
        return pd.read_csv(
            io.StringIO(text), header=None, dtype=str, skip_blank_lines=True, skipinitialspace=True
        )
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
    elif all(isinstance(r, list) for r in payload):
        widths = {len(r) for r in payload}
        if len(widths) > 1:
            raise RequestError(400, f"JSON rows differ in length: {sorted(widths)} values")
        for i, row in enumerate(payload):
            _scalars(i, enumerate(row))
    else:
        raise RequestError(400, "JSON instances must all be records or all be lists")
    # object: values stay what the body said (5 stays the int 5), missing keys become NaN.
    return pd.DataFrame(payload, dtype=object)


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
        # true/false are neither a number nor a category's text (True? "true"? 1?).
        if isinstance(value, dict | list | bool):
            raise RequestError(
                400, f"row {row}, {key!r}: a value must be a number, string or null, not {value!r}"
            )
