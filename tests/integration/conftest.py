"""Fixtures live in lambda_fixtures.py (a unique module name, importable by the tests)."""

from lambda_fixtures import aws, context, logs  # noqa: F401
