"""Schedule expressions as EventBridge reads them (rate and cron references)."""

from __future__ import annotations

import pytest

from infra.schedules import schedule_problem

VALID = [
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(7 days)",
    "cron(0 10 * * ? *)",
    "cron(15 12 * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0 8 1 * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(0 9 ? * 2#1 *)",
    "cron(0 0 L * ? *)",
    "cron(0 0 ? * 6L *)",
    "cron(0 0 3W * ? *)",
    "cron(0 0 ? * SUN,SAT 2026-2030)",
    "cron(0 0 * JAN,jun ? *)",
]
INVALID = {
    "rate(0 minutes)": "positive whole number",
    "rate(-1 days)": "positive whole number",
    "rate(1.5 hours)": "positive whole number",
    "rate(1 hours)": "the unit is 'hour'",
    "rate(5 hour)": "the unit is 'hours'",
    "rate(2 weeks)": "minute(s), hour(s) or day(s)",
    "rate(1hour)": "is not rate(value unit)",
    "cron(0 10 * * *)": "six fields",
    "cron(0 10 * * * *)": "exactly one of day-of-month and day-of-week",
    "cron(0 10 ? * ? *)": "exactly one of day-of-month and day-of-week",
    "cron(60 10 * * ? *)": "minutes: '60' is outside 0-59",
    "cron(0 24 * * ? *)": "hours: '24' is outside 0-23",
    "cron(0 0 32 * ? *)": "day-of-month: '32'",
    "cron(0 0 * 13 ? *)": "month: '13'",
    "cron(0 0 ? * 8 *)": "day-of-week: '8'",
    "cron(0 0 * * ? 1969)": "year: '1969'",
    "cron(0 0 ? * 3#1,6#3 *)": "'#' allows a single expression",
    "cron(0 0 ? * 2#6 *)": "day-of-week: '2#6'",
    "cron(0/0 * * * ? *)": "not a valid increment",
    "cron(0 0 ? * MON/2 *)": "not a valid increment",
    "every hour": "neither rate",
}


@pytest.mark.parametrize("expression", VALID)
def test_valid_expressions_pass(expression):
    assert schedule_problem(expression) is None


@pytest.mark.parametrize(("expression", "why"), sorted(INVALID.items()))
def test_invalid_expressions_say_why_and_where_it_is_documented(expression, why):
    problem = schedule_problem(expression)
    assert problem and why in problem and repr(expression) in problem
    assert "docs.aws.amazon.com/eventbridge" in problem
