"""Validate: check each input object against the schema, quarantine the bad ones, pass on the rest.

    python -m pipelines.entrypoints.validate --schema <parts> [--input DIR] [--output DIR]
        [--report DIR] [--message-file FILE] [--input-uri S3URI] [--manifest-uri S3URI]
        [--max-decompression-ratio R] [--max-uncompressed-mb N] [--quarantine-prefix P]

Each file under --input is one object of the data bucket (its key is --input-uri's key plus the
file's path under --input). Rejected objects are quarantined with their reason (see
quarantine.py) when --input-uri names the bucket; the accepted rows go to
`--output/part-<n>.parquet` (the only data Preprocess sees, so files added to the input prefix
meanwhile cannot slip in) and the report, with every object's verdict, to
`--report/validation.json`. The job fails (exit 1, every violation in the message) only when
the accepted objects are not enough to train on.
"""

from __future__ import annotations

import argparse
import re
import shutil
import time
from pathlib import Path

from pipelines.entrypoints.common import (
    PROCESSING_MESSAGE_FILE,
    add_schema_argument,
    fail,
    log,
    split_s3_uri,
    unpack_schema,
    write_json,
)
from pipelines.entrypoints.quarantine import quarantine_rejected
from pipelines.limits import ReadLimits
from pipelines.steps.tabular import find_data_files
from pipelines.steps.validate import validate_objects
from pipelines.steps.verdicts import ObjectRef

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
    defaults = ReadLimits()
    parser.add_argument(
        "--max-decompression-ratio", type=float, default=defaults.max_decompression_ratio
    )
    parser.add_argument("--max-uncompressed-mb", type=int, default=defaults.max_uncompressed_mb)
    parser.add_argument("--quarantine-prefix", default="quarantine/")
    # Lineage, echoed into the report for the Register step (see registry_safe).
    parser.add_argument("--input-uri", default="")
    parser.add_argument("--manifest-uri", default="")
    parser.add_argument("--trigger-event-id", default="")
    parser.add_argument("--trigger-event-type", default="")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    schema = unpack_schema(args.schema)
    limits = ReadLimits(
        max_decompression_ratio=args.max_decompression_ratio,
        max_uncompressed_mb=args.max_uncompressed_mb,
    )
    bucket, prefix = split_s3_uri(args.input_uri) if args.input_uri else (None, "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    objects = input_objects(args.input, bucket, prefix)
    report = validate_objects(objects, schema, limits, args.output)
    summary = report.to_dict()
    summary["files"] = [
        {"key": ref.key, "version_id": ref.version_id, "sha256": _sha(path)}
        for ref, path in objects
    ]
    summary["lineage"] = {
        "InputDataUri": registry_safe(args.input_uri),
        "DataManifestUri": registry_safe(args.manifest_uri),
        "TriggerEventId": registry_safe(args.trigger_event_id),
        "TriggerEventType": registry_safe(args.trigger_event_type),
    }
    paths = dict(objects)
    rejected = [(v, paths[v.object]) for v in report.rejected]
    if rejected and bucket:
        try:
            summary["quarantined"] = quarantine_rejected(
                bucket, args.quarantine_prefix, rejected, args.trigger_event_id
            )
        except Exception as exc:  # botocore's errors: the run must not train past them
            names = ", ".join(str(v.object) for v, _ in rejected)
            shutil.rmtree(args.output, ignore_errors=True)
            fail(f"could not quarantine {names}: {exc}", args.message_file)
    write_json(args.report / "validation.json", summary)
    for verdict, _ in rejected:
        log(f"rejected {verdict.object}: {'; '.join(v.message for v in verdict.violations)}")
    if not report.passed:
        shutil.rmtree(args.output, ignore_errors=True)  # nothing passes on from a failed run
        fail(report.failure_message(), args.message_file)
    for warning in report.warnings:
        log(f"warning: {warning}")
    log(
        f"validated {report.n_rows} rows from {len(report.accepted)} of {len(objects)} "
        f"object(s) in {time.perf_counter() - started:.2f}s"
    )


def input_objects(root: Path, bucket: str | None, prefix: str) -> list[tuple[ObjectRef, Path]]:
    """(object, local file) for every data file of the input: S3Prefix downloads keep the key
    under the prefix as the path under the input folder."""
    out = []
    for path in find_data_files(root):
        relative = path.relative_to(root).as_posix() if path != root else path.name
        out.append((ObjectRef(key=f"{prefix}{relative}", bucket=bucket), path))
    return out


def registry_safe(value: str) -> str:
    """A CustomerMetadataProperties value: 1-256 characters from the registry's allowed set."""
    cleaned = _UNSAFE.sub("_", value)[:256]
    return cleaned or "none"


if __name__ == "__main__":
    main()
