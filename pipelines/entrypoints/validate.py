"""Validate: check the input CSVs against the schema; pass the validated rows on, or fail.

    python -m pipelines.entrypoints.validate --schema <parts> [--input DIR] [--output DIR]
        [--report DIR] [--message-file FILE] [--manifest-uri S3URI]

On success the rows go to `--output/data.csv` (the only data Preprocess sees, so files added to
the input prefix meanwhile cannot slip in) and the report to `--report/validation.json`. On
failure the job exits 1 with every violation in the message.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import time
from pathlib import Path

from pipelines.entrypoints.common import (
    PROCESSING_MESSAGE_FILE,
    add_schema_argument,
    fail,
    log,
    unpack_schema,
    write_json,
)
from pipelines.steps.tabular import find_data_files, write_csv
from pipelines.steps.validate import validate_files

_UNSAFE = re.compile(r"[^\w\s.:/=+\-@]")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_schema_argument(parser)
    parser.add_argument("--input", type=Path, default=Path("/opt/ml/processing/input/data"))
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing/output/validated"))
    parser.add_argument("--report", type=Path, default=Path("/opt/ml/processing/output/report"))
    parser.add_argument("--message-file", type=Path, default=Path(PROCESSING_MESSAGE_FILE))
    # Lineage, echoed into the report for the Register step (see registry_safe).
    parser.add_argument("--input-uri", default="")
    parser.add_argument("--manifest-uri", default="")
    parser.add_argument("--trigger-event-id", default="")
    parser.add_argument("--trigger-event-type", default="")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    schema = unpack_schema(args.schema)
    files = find_data_files(args.input)
    typed, report = validate_files(files, schema)
    summary = report.to_dict()
    summary["files"] = [
        {"path": str(f.relative_to(args.input)) if f != args.input else f.name, "sha256": _sha(f)}
        for f in files
    ]
    summary["lineage"] = {
        "InputDataUri": registry_safe(args.input_uri),
        "DataManifestUri": registry_safe(args.manifest_uri),
        "TriggerEventId": registry_safe(args.trigger_event_id),
        "TriggerEventType": registry_safe(args.trigger_event_type),
    }
    write_json(args.report / "validation.json", summary)
    if not report.passed:
        fail(report.failure_message(), args.message_file)
    write_csv(typed, args.output / "data.csv")
    for warning in report.warnings:
        log(f"warning: {warning}")
    log(
        f"validated {report.n_rows} rows from {len(files)} file(s) in "
        f"{time.perf_counter() - started:.2f}s"
    )


def registry_safe(value: str) -> str:
    """A CustomerMetadataProperties value: 1-256 characters from the registry's allowed set."""
    cleaned = _UNSAFE.sub("_", value)[:256]
    return cleaned or "none"


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


if __name__ == "__main__":
    main()
