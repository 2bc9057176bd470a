"""Raw request rows, typed by the model's schema into the frame the estimator was trained on.

Shipped beside `inference.py` in the model's `code/` folder, so it stands alone too: numpy and
pandas only. One rule for every content type (README, "Calling the endpoint"):

- Missing: JSON null, an empty CSV field, or a marker pandas reads as missing in a training CSV
  (`NA`, `NaN`, `null`, ...), in either content type, since that is what training saw.
- A numeric feature takes a number: a JSON number, or text that is one (`5`, `5.0`, `1e3`).
- A categorical feature takes one of the model's categories (the schema's, or those seen in
  training when the schema lists none), compared as text and, when both are numbers, as numbers:
  `5`, `5.0` and `"5"` are one category whatever the content type.
- Anything else is a FeatureError naming the row (counted from 0, a header row not counted), the
  feature and the value; the endpoint answers it 400, for every content type alike.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

# What pandas' read_csv reads as missing by default (the `na_values` of
# https://pandas.pydata.org/docs/reference/api/pandas.read_csv.html), as training reads its CSVs.
MISSING_MARKERS = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"}
    | {"<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)
_SHOWN_PROBLEMS = 5


class FeatureError(ValueError):
    """Rows that do not fit the model's features; the message names each problem."""


def align_features(raw: pd.DataFrame, metadata: dict[str, Any]) -> pd.DataFrame:
    """Name, order and type the columns the way the estimator was trained.

    `metadata` is the model's metadata.json: `features`, `feature_kinds` and `categories` (per
    categorical feature, its known categories; a feature without an entry takes any text).
    """
    features: list[str] = metadata["features"]
    frame = _named(raw, features)
    if len(frame) == 0:
        raise FeatureError("empty request: a header row but no values")
    kinds: dict[str, str] = metadata["feature_kinds"]
    known: dict[str, list[str] | None] = metadata.get("categories") or {}
    out: dict[str, pd.Series] = {}
    problems: list[tuple[int, str]] = []
    for name in features:
        col = frame[name].astype(object)
        if kinds[name] == "numeric":
            out[name] = _numbers(name, col, problems)
        else:
            out[name] = _categories(name, col, known.get(name), problems)
    if problems:
        problems.sort(key=lambda p: p[0])
        shown = "; ".join(text for _, text in problems[:_SHOWN_PROBLEMS])
        more = len(problems) - _SHOWN_PROBLEMS
        raise FeatureError(
            f"{len(problems)} value(s) do not fit the model's features: {shown}"
            + (f"; and {more} more" if more > 0 else ""),
        )
    return pd.DataFrame(out, columns=features)


def _named(raw: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    frame = raw
    if len(frame.columns) and all(isinstance(c, int | np.integer) for c in frame.columns):
        first = [str(v).strip() for v in frame.iloc[0].tolist()] if len(frame) else []
        if first and set(features) <= set(first):
            frame = frame.iloc[1:].reset_index(drop=True)
            frame.columns = first
        elif len(frame.columns) == len(features):
            frame = frame.set_axis(features, axis=1)
        else:
            raise FeatureError(
                f"expected {len(features)} values per row ({', '.join(features)}), "
                f"got {len(frame.columns)}",
            )
    names = [str(c) for c in frame.columns]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise FeatureError(f"features given more than once: {', '.join(repeated)}")
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
        raise FeatureError(f"expected features {', '.join(features)}; got {got}")
    return frame


def _missing(col: pd.Series) -> pd.Series:
    # Exact markers, as read_csv matches them: "NA " is text, not missing, in training too.
    return col.isna() | col.isin(MISSING_MARKERS)


def _numbers(name: str, col: pd.Series, problems: list[tuple[int, str]]) -> pd.Series:
    """Floats, NaN where missing; a value that is no number, or past float's range (it would
    reach the estimator as infinity), is a problem."""
    missing = _missing(col)
    given = col.where(~missing, np.nan)
    try:
        # What training reads a numeric column with (pipelines/steps/tabular.py).
        values = pd.to_numeric(given, errors="coerce").astype(float)
    except (OverflowError, TypeError, ValueError):
        values = given.map(_float)
    for row in values.index[(values.isna() & ~missing) | np.isinf(values)]:
        value = col[row]
        why = "does not fit a finite float" if _out_of_range(value) else "is not a number"
        problems.append((int(row), f"row {row}, feature {name}: {_shown(value)} {why}"))
    return values.where(~np.isinf(values), np.nan)


def _float(value: Any) -> float:
    try:
        return float(value)
    except (OverflowError, TypeError, ValueError):
        return math.nan


def _out_of_range(value: Any) -> bool:
    try:
        return math.isinf(float(value))
    except OverflowError:
        return True
    except (TypeError, ValueError):
        return False


def _categories(
    name: str, col: pd.Series, known: list[str] | None, problems: list[tuple[int, str]]
) -> pd.Series:
    """Each value as its category's own text (object, NaN where missing)."""
    given = col[~_missing(col)]
    # Once per distinct value: a request repeats few categories over many rows.
    texts = {value: _category_text(value) for value in given.unique()}
    if known is not None:
        lookup = _category_lookup(known)
        for value, text in texts.items():
            number = _float(text)
            texts[value] = lookup.get(text) or (
                lookup.get(number) if math.isfinite(number) else None
            )
    out = pd.Series(np.nan, index=col.index, dtype=object)
    out[given.index] = given.map(texts).to_numpy(dtype=object)
    if known is not None:
        listed = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
        for row in given.index[out[given.index].isna()]:
            problems.append(
                (
                    int(row),
                    f"row {row}, feature {name}: {_shown(col[row])} is not a category of the "
                    f"model ({listed})",
                )
            )
    return out


def _category_lookup(known: list[str]) -> dict[Any, str]:
    """Text -> category, and number -> category for the categories that are numbers (unless
    two of them are the same number, `1` and `1.0`: then only their exact text matches)."""
    lookup: dict[Any, str] = {c: c for c in known}
    numbers: dict[float, list[str]] = {}
    for category in known:
        number = _float(category)
        if math.isfinite(number):
            numbers.setdefault(number, []).append(category)
    lookup.update({n: same[0] for n, same in numbers.items() if len(same) == 1})
    return lookup


def _category_text(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return np.nan
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # JSON 2.0 and CSV "2" are the same category
    return str(value)


def _shown(value: Any) -> str:
    text = str(value)
    if len(text) > 40:
        head = repr(text[:20]) if isinstance(value, str) else text[:20]
        return f"{head}... ({len(text)} chars)"
    return repr(value) if isinstance(value, str) else text
