"""Validate: check each object of the run against the schema, quarantine the bad ones, pass on
the rest.

    python -m pipelines.entrypoints.validate --schema <parts> [--manifest-uri S3URI]
        [--input-uri S3URI] [--input DIR] [--data-dir DIR] [--output DIR] [--report DIR]
        [--message-file FILE] [--max-decompression-ratio R] [--max-uncompressed-mb N]
        [--quarantine-prefix P]

The data is exactly the object versions of the run's manifest, read from S3 into --data-dir
(pipelines/entrypoints/data_input.py). Each object gets a verdict; a rejected one is quarantined
with its reason (quarantine.py) and the accepted rows go to `--output/part-<n>.parquet` (the only
data Preprocess sees). The report, with every verdict, goes to `--report/validation.json`, and
`data_objects.json` beside it names the objects the model trained on, by version (the lineage),
and the rejected ones apart. The job fails (exit 1, every violation in the message) only when
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
    s3_client,
    unpack_schema,
    write_json,
)
from pipelines.entrypoints.data_input import DataObject, RunData, gather
from pipelines.entrypoints.labelled_input import LabelledInput, read_labelled
from pipelines.entrypoints.quarantine import quarantine_labelled, quarantine_rejected
from pipelines.limits import ReadLimits
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
    data = gather(
        manifest_uri=args.manifest_uri,
        input_uri=args.input_uri,
        local_input=args.input,
        dest=args.data_dir,
    )
    labelled = None
    if data.labelled_traffic is not None:
        labelled = read_labelled(
            data.labelled_traffic, schema, args.data_dir / "labelled", s3_client()
        )
        log(_labelled_summary(labelled))
    for obj, reason in data.not_read + (labelled.not_read() if labelled else []):
        log(f"warning: not read: {obj.name} version {obj.version_id}: {reason}")
    extra = [(ref(obj), path) for obj, path, _ in labelled.files] if labelled else []
    if not data.read and not extra:
        record = data.record()
        if labelled is not None:
            record["labelled_traffic"] = labelled.record({})
        write_json(args.report / DATA_OBJECTS_FILE, record)
        fail(_nothing_read(data), args.message_file)
    uploads = [(ref(obj), path) for obj, path in data.read]
    objects = uploads + extra
    report = validate_objects(objects, schema, limits, args.output)
    # The lineage names what trained: the accepted objects; the rejected ones are listed apart.
    record = data.record()
    verdicts = report.objects[: len(uploads)]
    record["rejected"] = [
        {**o, "reasons": [v.reason for v in verdicts[i].violations]}
        for i, o in enumerate(record["objects"])
        if not verdicts[i].accepted
    ]
    record["objects"] = [o for i, o in enumerate(record["objects"]) if verdicts[i].accepted]
    rows = report.objects[len(uploads) :]
    if labelled is not None:
        accepted = {i: v.accepted for i, v in enumerate(rows)}
        record["labelled_traffic"] = labelled.record(accepted)
        record["labelled_traffic"]["rejected"] = labelled.rejected(
            accepted, {i: [m.reason for m in v.violations] for i, v in enumerate(rows)}
        )
    write_json(args.report / DATA_OBJECTS_FILE, record)
    summary = report.to_dict()
    summary["files"] = [
        {"path": name, "key": r.key, "version_id": r.version_id, "sha256": data.sha256[path]}
        for (name, path), (r, _) in zip(data.files, uploads, strict=True)
    ]
    summary["lineage"] = {
        "InputDataUri": registry_safe(args.input_uri),
        "DataManifestUri": registry_safe(args.manifest_uri),
        "TriggerEventId": registry_safe(args.trigger_event_id),
        "TriggerEventType": registry_safe(args.trigger_event_type),
    }
    paths = dict(objects)
    rejected = [(v, paths[v.object]) for v in verdicts if not v.accepted]
    rejected_rows = [(v, paths[v.object]) for v in rows if not v.accepted]
    buckets = {v.object.bucket for v, _ in rejected if v.object.bucket}
    if (rejected and buckets) or rejected_rows:
        try:
            summary["quarantined"] = [
                r
                for bucket in sorted(buckets)
                for r in quarantine_rejected(
                    bucket,
                    args.quarantine_prefix,
                    [(v, p) for v, p in rejected if v.object.bucket == bucket],
                    args.trigger_event_id,
                )
            ]
            if labelled is not None and rejected_rows:
                summary["quarantined"] += quarantine_labelled(
                    labelled.bucket,
                    args.quarantine_prefix,
                    rejected_rows,
                    args.trigger_event_id,
                    labelled.label_entries(),
                )
        except Exception as exc:  # botocore's errors: the run must not train past them
            names = ", ".join(str(v.object) for v, _ in rejected + rejected_rows)
            shutil.rmtree(args.output, ignore_errors=True)
            fail(f"could not quarantine {names}: {exc}", args.message_file)
    write_json(args.report / "validation.json", summary)
    for verdict, _ in rejected + rejected_rows:
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


def ref(obj: DataObject) -> ObjectRef:
    return ObjectRef(obj.key, obj.version_id, obj.bucket or None)


def _labelled_summary(labelled: LabelledInput) -> str:
    stats = labelled.stats
    return (
        f"labelled traffic {labelled.since} to {labelled.until}: "
        f"{stats['n_labelled_rows']} labelled of {stats['n_captured_rows']} captured rows "
        f"from {len(labelled.capture.read)} capture and {len(labelled.ground_truth.read)} "
        f"ground-truth object(s); {stats['n_unmatched_records']} label record(s) naming no "
        f"captured request, {stats['n_wrong_count_records']} with another number of rows"
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
