"""What Validate decides: a verdict per data object, and the run's report.

Every violation names its object (`key (version id)`) and carries a machine-readable reason; the
report is what `validation.json` holds and what quarantine records are written from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ObjectRef:
    """Which object a file is: its key and version in the data bucket."""

    key: str
    version_id: str | None = None
    bucket: str | None = None

    def __str__(self) -> str:
        return f"{self.key} (version {self.version_id})" if self.version_id else self.key


@dataclass(frozen=True)
class Violation:
    reason: str  # machine-readable: not_utf8, ragged_rows, values_outside_classes, ...
    message: str


@dataclass
class ObjectVerdict:
    object: ObjectRef
    accepted: bool
    rows: int
    violations: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    output: Path | None = None  # the typed accepted rows (Parquet); None when rejected

    def messages(self) -> list[str]:
        return [f"{self.object}: {v.message}" for v in self.violations]

    def reason(self) -> str:
        """The first violation's reason: what a quarantine record files the object under."""
        return self.violations[0].reason if self.violations else ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["output"] = str(self.output) if self.output else None
        return out


@dataclass
class ValidationReport:
    passed: bool
    n_rows: int
    objects: list[ObjectVerdict] = field(default_factory=list)
    # Every violation: each rejected object's (named) and the run's own.
    violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> list[ObjectVerdict]:
        return [o for o in self.objects if o.accepted]

    @property
    def rejected(self) -> list[ObjectVerdict]:
        return [o for o in self.objects if not o.accepted]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["objects"] = [o.to_dict() for o in self.objects]
        return out

    def failure_message(self) -> str:
        return f"{len(self.violations)} data violation(s): " + "; ".join(self.violations)
