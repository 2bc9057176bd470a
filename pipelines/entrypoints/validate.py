"""Validate: check the run's data against the schema; pass the validated rows on, or fail.

    python -m pipelines.entrypoints.validate --schema <parts> [--manifest-uri S3URI]
        [--input-uri S3URI] [--input DIR] [--data-dir DIR] [--output DIR] [--report DIR]
        [--message-file FILE]

The data is exactly the object versions of the run's manifest, read from S3 into --data-dir
(pipelines/entrypoints/data_input.py). On success the rows go to `--output/data.csv` (the only
data Preprocess sees) and the report to `--report/validation.json`, with `data_objects.json`
beside it: the objects read, by version, which the model's lineage names. On failure the job
exits 1 with every violation in the message.
"""

from __future__ import annotations

import argparse
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
from pipelines.entrypoints.data_input import RunData, gather
from pipelines.steps.tabular import write_csv
from pipelines.steps.validate import validate_files

_UNSAFE = re.compile(r"[^\w\s.:/=+\-@]")
DATA_OBJECTS_FILE = "data_objects.json"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_schema_argument(parser)
    parser.add_argument("--input", type=Path, default=None, help="local files instead of S3")
    parser.add_argument("--data-dir", type=Path, default=Path("/opt/ml/processing/input/data"))
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
    data = gather(
        manifest_uri=args.manifest_uri,
        input_uri=args.input_uri,
        local_input=args.input,
        dest=args.data_dir,
    )
    write_json(args.report / DATA_OBJECTS_FILE, data.record())
    for obj, reason in data.not_read:
        log(f"warning: not read: {obj.name} version {obj.version_id}: {reason}")
    if not data.read:
        fail(_nothing_read(data), args.message_file)
    typed, report = validate_files(data.files, schema)
    summary = report.to_dict()
    summary["files"] = [{"path": name, "sha256": data.sha256[path]} for name, path in data.files]
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
        f"validated {report.n_rows} rows from {len(data.read)} object(s) in "
        f"{time.perf_counter() - started:.2f}s"
    )


def _nothing_read(data: RunData) -> str:
    if not data.not_read:
        source = data.manifest_uri or "the input"
        return f"no data objects to validate: {source} lists none"
    gone = ", ".join(f"{o.name} version {o.version_id}" for o, _ in data.not_read[:5])
    return f"none of the {len(data.not_read)} data object(s) could be read: {gone}"


def registry_safe(value: str) -> str:
    """A CustomerMetadataProperties value: 1-256 characters from the registry's allowed set."""
    cleaned = _UNSAFE.sub("_", value)[:256]
    return cleaned or "none"


if __name__ == "__main__":
    main()
