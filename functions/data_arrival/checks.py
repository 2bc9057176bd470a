"""Cheap checks on an arriving object: metadata first, then the first bytes. No AWS here.

Only the head of the object is read (HEAD_BYTES): a Lambda never reads a whole dataset. The
full schema and quality gate is the pipeline's Validate step; these checks stop the objects that
would certainly fail it, before a training run is spent on them.
"""

from __future__ import annotations

import codecs
import csv
import zlib
from dataclasses import dataclass, field
from typing import Any

from functions.shared.settings import DataArrivalSettings

HEAD_BYTES = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Rejection:
    reason: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def split_extension(key: str) -> tuple[str, bool]:
    """('csv', True) for 'a/b.CSV.gz': the data extension, lower case, and whether gzipped."""
    name = key.rsplit("/", 1)[-1].lower()
    gzipped = name.endswith(".gz")
    if gzipped:
        name = name[:-3]
    return (name.rsplit(".", 1)[1] if "." in name else ""), gzipped


def check_metadata(key: str, size: int, settings: DataArrivalSettings) -> Rejection | None:
    if size == 0:
        return Rejection("empty_object", "the object has zero bytes")
    if size > settings.max_object_bytes:
        return Rejection(
            "too_large",
            "the object is larger than MAX_OBJECT_BYTES",
            {"size": size, "max_object_bytes": settings.max_object_bytes},
        )
    extension, gzipped = split_extension(key)
    allowed = sorted({e.lower().lstrip(".") for e in settings.allowed_extensions})
    if gzipped and not settings.allow_gzip:
        return Rejection("gzip_not_allowed", "gzip objects are not allowed (ALLOW_GZIP=false)")
    if extension not in allowed:
        return Rejection(
            "extension_not_allowed",
            "the file extension is not in ALLOWED_EXTENSIONS",
            {"extension": extension, "allowed": allowed},
        )
    return None


def _inflate(sample: bytes, complete: bool) -> tuple[bytes, bool] | Rejection:
    if not sample.startswith(_GZIP_MAGIC):
        return Rejection("invalid_gzip", "the object ends in .gz but is not gzip data")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(sample, HEAD_BYTES)
    except zlib.error as exc:
        return Rejection("invalid_gzip", "the gzip stream is corrupt", {"error": str(exc)})
    return data, complete and inflater.eof and not inflater.unconsumed_tail


def check_head(
    key: str, sample: bytes, complete: bool, settings: DataArrivalSettings
) -> Rejection | None:
    """Check the first bytes: gzip stream, UTF-8, and for CSV the header against the schema.

    `complete` says the sample is the whole object (so a missing newline is not truncation).
    """
    extension, gzipped = split_extension(key)
    if gzipped:
        inflated = _inflate(sample, complete)
        if isinstance(inflated, Rejection):
            return inflated
        sample, complete = inflated
    if sample.startswith(codecs.BOM_UTF8):
        # A BOM glues itself to the first column name in most CSV readers; ask for a clean file.
        return Rejection("utf8_bom", "the object starts with a UTF-8 byte order mark")
    try:
        # Incremental decoding: a multi-byte character cut by the sample's end is not an error.
        text = codecs.getincrementaldecoder("utf-8")("strict").decode(sample, final=complete)
    except UnicodeDecodeError as exc:
        return Rejection("not_utf8", "the object is not UTF-8 text", {"byte_offset": exc.start})
    if extension != "csv":
        return None
    return _check_header(text, complete, settings.schema_columns)


def _check_header(text: str, complete: bool, schema: list[str]) -> Rejection | None:
    line, newline, _ = text.partition("\n")
    if not newline and not complete:
        return Rejection("header_too_long", f"no end of header line in the first {HEAD_BYTES} B")
    header = [name.strip() for name in next(csv.reader([line.rstrip("\r")]), [])]
    if not any(header):
        return Rejection("header_missing", "the first line is empty")
    duplicated = sorted({name for name in header if header.count(name) > 1})
    missing = [name for name in schema if name not in header]
    extra = [name for name in header if name not in schema]
    if duplicated:
        return Rejection("header_duplicate_columns", "columns repeat", {"duplicated": duplicated})
    if missing or extra:
        reason = (
            "header_mismatch"
            if missing and extra
            else ("header_missing_columns" if missing else "header_extra_columns")
        )
        return Rejection(
            reason,
            "the header does not match SCHEMA_COLUMNS",
            {"missing": missing, "extra": extra, "header": header},
        )
    return None
