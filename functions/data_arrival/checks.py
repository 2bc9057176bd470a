"""Cheap checks on an arriving object: metadata first, then its bytes. No AWS here.

What arrival reads, and so what it checks (the Validate step checks every row later):

- plain CSV: the first HEAD_BYTES only. The header against the schema, the field count of every
  complete row in that head, and that the head is UTF-8 text. A bad byte further on is found by
  Validate, which names the object and the byte.
- gzip CSV: the whole stream, decompressed in chunks and thrown away (`gzip_scan.py`): that is the
  only way to know its true size (the trailer's ISIZE is one member's size modulo 2**32) and
  whether it was cut short. So every byte's encoding is checked too; the head as for plain CSV.
- Parquet: the magic bytes and the footer, by ranged reads (`parquet_footer.py`).

A Lambda never holds an object: at most HEAD_BYTES, one decompressed chunk, or the footer's
first FOOTER_READ_BYTES are in memory at once.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from functions.shared.settings import DataArrivalSettings

HEAD_BYTES = 64 * 1024
# Ragged rows named in a rejection: enough to find the pattern, short enough to read.
_SHOWN_ROWS = 5
# pandas writes a non-default index to Parquet as these columns and reads them back as the index.
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")
# Binary formats a text check would only call "not UTF-8": say what the object is instead.
_MAGIC = ((b"\x1f\x8b", "gzip", "<name>.csv.gz"), (b"PAR1", "Parquet", "<name>.parquet"))


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
    if gzipped and extension == "parquet":
        return Rejection(
            "parquet_gzipped",
            "Parquet compresses its own pages and is read by ranges: upload it without gzip",
        )
    return None


def check_head(
    key: str, sample: bytes, complete: bool, settings: DataArrivalSettings
) -> Rejection | None:
    """Check the first bytes of a plain object: UTF-8, and for CSV the header and row shapes.

    `complete` says the sample is the whole object (so a missing newline is not truncation).
    """
    extension, gzipped = split_extension(key)
    for magic, looks_like, name in _MAGIC:
        if sample.startswith(magic) and not gzipped:
            return Rejection(
                "extension_mismatch",
                f"the object is {looks_like} data but named .{extension}: name it {name}",
                {"extension": extension, "looks_like": looks_like},
            )
    if sample.startswith(codecs.BOM_UTF8):
        # A BOM glues itself to the first column name in most CSV readers; ask for a clean file.
        return Rejection("utf8_bom", "the object starts with a UTF-8 byte order mark")
    try:
        # Incremental decoding: a multi-byte character cut by the sample's end is not an error.
        text = codecs.getincrementaldecoder("utf-8")("strict").decode(sample, final=complete)
    except UnicodeDecodeError as exc:
        return not_utf8(exc.start, sample[exc.start : exc.start + 1])
    if extension != "csv":
        return None
    return check_csv_text(text, complete, settings.schema_columns)


def not_utf8(offset: int, byte: bytes) -> Rejection:
    return Rejection(
        "not_utf8",
        f"the object is not UTF-8 text: byte 0x{byte.hex()} at offset {offset} (save it as UTF-8)",
        {"byte_offset": offset, "byte": f"0x{byte.hex()}"},
    )


def check_csv_text(text: str, complete: bool, schema: Sequence[str]) -> Rejection | None:
    """The header and the shape of each row in `text`, the start of a CSV file.

    Every line-ending style reads the same (\\n, \\r\\n, a lone \\r): the csv module splits
    records itself when given the text untranslated (newline=""). When `text` is only the start
    of the file, its last record may be cut and is not judged.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as exc:  # the csv module's own refusals (a NUL byte before Python 3.11)
        return Rejection(
            "csv_malformed",
            f"the CSV cannot be parsed at line {reader.line_num + 1}: {exc}",
            {"line": reader.line_num + 1, "error": str(exc)},
        )
    if not complete:
        if len(rows) > 1:
            rows = rows[:-1]  # the sample's last record may be cut anywhere
        elif not text.endswith(("\n", "\r")):
            return Rejection(
                "header_too_long", f"no end of header line in the first {HEAD_BYTES} B"
            )
    if not rows or not any(rows[0][1]):
        return Rejection("header_missing", "the first line is empty")
    header = rows[0][1]
    return column_rejection(header, schema) or _ragged(header, rows[1:])


def column_rejection(names: Sequence[str], schema: Sequence[str]) -> Rejection | None:
    """The columns of a file (CSV header or Parquet schema) against the config's columns."""
    spaced = [name for name in names if name != name.strip()]
    if spaced:
        return Rejection(
            "header_whitespace",
            "column names have leading or trailing whitespace; they must match the config's "
            "names exactly",
            {"columns": spaced},
        )
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        return Rejection("header_duplicate_columns", "columns repeat", {"duplicated": duplicated})
    missing = [name for name in schema if name not in names]
    extra = [name for name in names if name not in schema]
    if missing or extra:
        reason = (
            "header_mismatch"
            if missing and extra
            else ("header_missing_columns" if missing else "header_extra_columns")
        )
        return Rejection(
            reason,
            "the header does not match SCHEMA_COLUMNS",
            {"missing": missing, "extra": extra, "header": list(names)},
        )
    return None


def parquet_columns(names: Sequence[str]) -> list[str]:
    """A Parquet file's columns as pandas reads them: a stored index is not a column."""
    return [name for name in names if not _PANDAS_INDEX.fullmatch(name)]


def _ragged(header: list[str], rows: list[tuple[int, list[str]]]) -> Rejection | None:
    # An empty line is skipped by every CSV reader the steps use; it is not a row.
    ragged = [(line, len(row)) for line, row in rows if row and len(row) != len(header)]
    if not ragged:
        return None
    return Rejection(
        "ragged_rows",
        f"{len(ragged)} row(s) in the first {HEAD_BYTES} B do not have the header's "
        f"{len(header)} fields",
        {
            "header_fields": len(header),
            "rows": [{"line": line, "fields": n} for line, n in ragged[:_SHOWN_ROWS]],
        },
    )
