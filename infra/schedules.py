"""EventBridge schedule expressions, checked the way EventBridge reads them.

Rate: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html
Cron: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
"""

from __future__ import annotations

import re

RATE_URL = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html"
CRON_URL = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html"

_RATE = re.compile(r"rate\((?P<value>\S+) (?P<unit>\S+)\)")
_CRON = re.compile(r"cron\((?P<fields>[^()]*)\)")
_UNITS = {"minute", "hour", "day"}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def schedule_problem(expression: str) -> str | None:
    """Why EventBridge would refuse `expression`, or None when it is a valid rate or cron."""
    if expression.startswith("rate("):
        return _rate_problem(expression)
    if expression.startswith("cron("):
        return _cron_problem(expression)
    return f"{expression!r} is neither rate(value unit) nor cron(fields) ({RATE_URL})"


def _rate_problem(expression: str) -> str | None:
    match = _RATE.fullmatch(expression)
    if not match:
        return f"{expression!r} is not rate(value unit) ({RATE_URL})"
    value, unit = match["value"], match["unit"]
    if not re.fullmatch(r"[1-9][0-9]*", value):
        return f"{expression!r}: the value must be a positive whole number ({RATE_URL})"
    singular = unit.rstrip("s") if unit.endswith("s") else unit
    if singular not in _UNITS:
        return f"{expression!r}: the unit must be minute(s), hour(s) or day(s) ({RATE_URL})"
    if (value == "1") != (unit == singular):
        wanted = singular if value == "1" else f"{singular}s"
        return f"{expression!r}: with a value of {value} the unit is {wanted!r} ({RATE_URL})"
    return None


# field name, lowest, highest, names for the values, special characters allowed besides , - * /
_FIELDS = (
    ("minutes", 0, 59, (), ""),
    ("hours", 0, 23, (), ""),
    ("day-of-month", 1, 31, (), "?LW"),
    ("month", 1, 12, _MONTHS, ""),
    ("day-of-week", 1, 7, _DAYS, "?L#"),
    ("year", 1970, 2199, (), ""),
)


def _cron_problem(expression: str) -> str | None:
    match = _CRON.fullmatch(expression)
    fields = match["fields"].split() if match else []
    if len(fields) != len(_FIELDS):
        return f"{expression!r}: cron takes six fields separated by spaces ({CRON_URL})"
    for text, spec in zip(fields, _FIELDS, strict=True):
        problem = _field_problem(text, *spec)
        if problem:
            return f"{expression!r}: {problem} ({CRON_URL})"
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return (
            f"{expression!r}: exactly one of day-of-month and day-of-week must be '?' ({CRON_URL})"
        )
    return None


def _field_problem(
    text: str, name: str, low: int, high: int, names: tuple[str, ...], special: str
) -> str | None:
    def value(token: str) -> int | None:
        if token.upper() in names:
            return names.index(token.upper()) + low
        if token.isdigit() and low <= int(token) <= high:
            return int(token)
        return None

    if text == "?":
        return None if "?" in special else f"{name} cannot be '?'"
    items = text.split(",")
    if "#" in text and len(items) > 1:
        return f"{name}: '#' allows a single expression"
    for item in items:
        if _special_item(item, name, special, value):
            continue
        base, _, step = item.partition("/")
        if step and (name == "day-of-week" or not step.isdigit() or int(step) < 1):
            return f"{name}: {item!r} is not a valid increment"
        if base == "*":
            continue
        start, dash, end = base.partition("-")
        if value(start) is None or (dash and value(end) is None):
            return f"{name}: {item!r} is outside {low}-{high}" + (
                f" or {names[0]}-{names[-1]}" if names else ""
            )
    return None


def _special_item(item: str, name: str, special: str, value) -> bool:
    """L, W and # forms of the two day fields."""
    if "L" in special and item.upper() == "L":
        return True
    if name == "day-of-month" and "W" in special:
        upper = item.upper()
        if upper == "LW" or (upper.endswith("W") and value(item[:-1]) is not None):
            return True
    if name == "day-of-week":
        if item.upper().endswith("L") and value(item[:-1]) is not None:
            return True
        day, hash_, nth = item.partition("#")
        if hash_ and value(day) is not None and nth in {"1", "2", "3", "4", "5"}:
            return True
    return False
