"""One reader for every data file the steps take: CSV, gzip CSV and Parquet, in bounded memory.

A file is read as a stream of Arrow record batches, so a step holds one batch at a time whatever
the file's size. CSV (plain or gzip) comes out as text columns, so Validate can tell a
non-number from a missing value; Parquet comes out with its own column types, which
`check_parquet_types` holds against the schema.

Whatever is wrong with a file ends in `UnreadableData` with a machine-readable reason and a
message naming the problem and where it is (byte offset, line, column), never a traceback:

- gzip: a truncated archive, a corrupt one, and decompression past a ratio of the compressed
  size or past an absolute size (a small archive can expand to gigabytes), counted while
  decompressing, so a bomb costs one block of memory, not its expanded size;
- text: UTF-8 is required; the first byte that is not UTF-8, anywhere in the file, is named with
  its offset (in the uncompressed stream). A UTF-8 byte order mark is accepted;
- CSV: `\\n`, `\\r\\n` and `\\r` line endings alike; rows with more or fewer fields than the
  header (`RaggedRows`, with line numbers) are counted, not read; a header name with leading or
  trailing whitespace, a repeated or an empty one is refused;
- Parquet: a file that is not Parquet or whose footer is damaged.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import io
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines.limits import MB, ReadLimits
from pipelines.steps.serving_features import MISSING_MARKERS

Format = Literal["csv", "gzip", "parquet"]
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
# Rows quoted in a message.
EXAMPLES = 3
# The longest header line read (a longer one is refused as unparseable).
_HEADER_BLOCK = 1 * 1024 * 1024
_LINE_END = re.compile(rb"\r\n|\r|\n")


class UnreadableData(Exception):
    """A file that cannot be read as data, with a reason a machine can act on."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class RaggedRows:
    """Rows whose field count differs from the header's: counted, skipped, named by line."""

    count: int = 0
    lines: list[int] = field(default_factory=list)
    expected: int = 0

    def handle(self, row: pacsv.InvalidRow) -> str:
        self.count += 1
        self.expected = row.expected_columns
        if len(self.lines) < EXAMPLES:
            # number is the physical row of the file, the header being row 1; unknown (None)
            # only when Arrow parses in parallel, which the streaming reader never does.
            self.lines.append(-1 if row.number is None else row.number)
        return "skip"

    def message(self) -> str:
        where = ", ".join(f"line {n}" for n in self.lines if n > 0)
        return f"{self.count} row(s) without the header's {self.expected} fields" + (
            f" ({where})" if where else ""
        )


def data_format(path: Path) -> Format:
    """By content, not by name: gzip and Parquet start with their magic bytes."""
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head == PARQUET_MAGIC:
        return "parquet"
    return "csv"


@dataclass
class Batches:
    """A file opened for reading: its columns (names and Arrow types) and its batches."""

    format: Format
    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    ragged: RaggedRows
    close: Callable[[], None]

    def __enter__(self) -> Batches:
        return self

    def __exit__(self, *_exc: object) -> None:
        # Also when the batches were not all read: an unfinished Arrow reader left to the
        # garbage collector can still be reading ahead when the process exits.
        self.close()


def open_batches(path: Path, limits: ReadLimits, columns: list[str] | None = None) -> Batches:
    """Open a file; `columns` limits Parquet reads to the ones needed (CSV text is all read)."""
    fmt = data_format(path)
    if fmt == "parquet":
        return _open_parquet(path, limits, columns)
    names = _csv_header(path, fmt, limits)
    raw, checked = _checked(path, fmt, limits)
    ragged = RaggedRows()
    try:
        reader = pacsv.open_csv(
            checked,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=limits.block_bytes),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=ragged.handle
            ),
            # Every column as text: Validate decides what is a number.
            # Missing: exactly the markers serving reads as missing (pandas' defaults).
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                null_values=sorted(MISSING_MARKERS),
                strings_can_be_null=True,
            ),
        )
    except Exception as exc:
        raw.close()
        raise _explain(exc, checked) from None

    def close() -> None:
        reader.close()
        raw.close()

    return Batches(fmt, reader.schema, _csv_batches(reader, checked), ragged, close)


def _checked(path: Path, fmt: Format, limits: ReadLimits) -> tuple[BinaryIO, CheckedStream]:
    raw = path.open("rb")
    stream: BinaryIO = raw
    if fmt == "gzip":
        stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
    return raw, CheckedStream(stream, fmt, path, limits)


def _csv_header(path: Path, fmt: Format, limits: ReadLimits) -> list[str]:
    """The header's names, parsed from the file's first line alone.

    Read here, not by a streaming reader left unfinished: Arrow reads ahead from the stream on
    its I/O threads, and a reader dropped mid-file can leave a read pending when the process
    exits, which aborts it.
    """
    raw, checked = _checked(path, fmt, limits)
    try:
        head = bytearray()
        while len(head) < _HEADER_BLOCK and not _LINE_END.search(head):
            chunk = checked.read(1 << 16)
            if not chunk:
                break
            head += chunk
        first = _LINE_END.split(bytes(head), maxsplit=1)[0]
        if len(first) >= _HEADER_BLOCK:
            raise UnreadableData("csv_malformed", f"no line end in the first {_HEADER_BLOCK} bytes")
        table = pacsv.read_csv(
            io.BytesIO(first + b"\n"), read_options=pacsv.ReadOptions(use_threads=False)
        )
        names = table.schema.names
    except Exception as exc:
        raise _explain(exc, checked) from None
    finally:
        raw.close()
    _check_header(names)
    return names


def _csv_batches(
    reader: pacsv.CSVStreamingReader, checked: CheckedStream
) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except Exception as exc:
            raise _explain(exc, checked) from None
        yield batch
    checked.finish()


def _explain(exc: Exception, checked: CheckedStream) -> UnreadableData:
    if isinstance(exc, UnreadableData):
        return exc
    if checked.violation is None:
        # The bytes' own problem (a bomb, a cut archive, not UTF-8) is the root cause of most
        # parse errors: read the file again from the start, in bounded memory, to name it.
        # A fresh stream: Arrow may still hold the first one on its read-ahead thread.
        raw, fresh = _checked(checked.path, checked.format, checked.limits)
        try:
            with contextlib.suppress(Exception):  # without one, the parse error is the answer
                fresh.finish()
        finally:
            raw.close()
        if fresh.violation is not None:
            return fresh.violation
    if checked.violation is not None:
        return checked.violation
    text = str(exc)
    if "Empty CSV file" in text:
        return UnreadableData("empty_object", "the file is empty (no header row)")
    return UnreadableData("csv_malformed", f"not readable as CSV: {text.splitlines()[0]}")


def _check_header(names: list[str]) -> None:
    padded = [n for n in names if n != n.strip()]
    if padded:
        raise UnreadableData(
            "header_whitespace",
            "header name(s) with leading or trailing whitespace: "
            + ", ".join(repr(n) for n in padded),
        )
    if any(not n for n in names):
        raise UnreadableData("header_empty_name", "the header has an empty column name")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UnreadableData(
            "header_duplicate_columns", f"header name(s) repeated: {', '.join(map(repr, repeated))}"
        )


class CheckedStream(io.RawIOBase):
    """The decompressed bytes of a file, with their size bounded and their UTF-8 checked.

    Reads stop with a violation (kept in `violation` and raised) at the first byte that breaks
    a rule, so nothing past it is decompressed or parsed.
    """

    def __init__(self, stream: BinaryIO, fmt: Format, path: Path, limits: ReadLimits):
        self._stream = stream
        self.path, self.format, self.limits = path, fmt, limits
        stored_size = path.stat().st_size
        self._gzip = fmt == "gzip"
        self._cap = limits.max_uncompressed_mb * MB
        self._ratio_cap = limits.max_decompression_ratio * max(stored_size, 1)
        self._limits = limits
        self._stored = stored_size
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.produced = 0
        self.violation: UnreadableData | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.violation is not None:
            raise self.violation
        try:
            data = self._stream.read(len(buffer))
        except EOFError:
            self._fail("gzip_truncated", "the gzip archive is truncated (ends mid-stream)")
        except (gzip.BadGzipFile, zlib.error, OSError) as exc:
            self._fail("invalid_gzip", f"the gzip archive is corrupt: {exc}")
        n = len(data)
        self._check_size(self.produced + n)
        self._check_utf8(data, final=False)
        buffer[:n] = data
        self.produced += n
        if n == 0:
            self._check_utf8(b"", final=True)
        return n

    def finish(self) -> None:
        """At the end of the CSV: whatever the parser did not pull is still checked."""
        while self.readinto(memoryview(bytearray(1 << 16))):
            pass

    def _check_size(self, total: int) -> None:
        if self._gzip and total > self._cap:
            self._fail(
                "uncompressed_too_large",
                f"more than {self._limits.max_uncompressed_mb} MB of data "
                f"(data.max_uncompressed_mb)",
            )
        if self._gzip and total > self._ratio_cap:
            self._fail(
                "decompression_ratio_exceeded",
                f"{self._stored} compressed bytes expand past "
                f"{self._limits.max_decompression_ratio:g} times their size "
                f"(data.max_decompression_ratio); stopped at {total} bytes",
            )

    def _check_utf8(self, data: bytes, *, final: bool) -> None:
        pending = len(self._decoder.getstate()[0])
        try:
            self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            offset = self.produced - pending + exc.start
            bad = (exc.object[exc.start : exc.start + 1] or b"?").hex()
            self._fail(
                "not_utf8",
                f"byte 0x{bad} at offset {offset} is not UTF-8 (files must be UTF-8 encoded)",
            )

    def _fail(self, reason: str, message: str) -> None:
        self.violation = UnreadableData(reason, message)
        raise self.violation


def _open_parquet(path: Path, limits: ReadLimits, columns: list[str] | None) -> Batches:
    try:
        # pre_buffer (on by default) reads ahead the column chunks of the row groups to come and
        # keeps them: measured, a 3M-row file's batches held 450 MB by the 20th batch against
        # 41 MB without (pyarrow's ParquetFile `pre_buffer`: reads coalesced and issued ahead for
        # whole row groups). Local files gain little from it; bounded memory is why we batch.
        parquet = pq.ParquetFile(path, pre_buffer=False)
    except Exception as exc:
        raise UnreadableData(
            "parquet_invalid", f"not a readable Parquet file: {str(exc).splitlines()[0]}"
        ) from None
    schema = parquet.schema_arrow
    _check_header(schema.names)
    wanted = [c for c in columns if c in schema.names] if columns is not None else None

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from parquet.iter_batches(batch_size=limits.parquet_batch_rows, columns=wanted)
        except Exception as exc:
            raise UnreadableData(
                "parquet_invalid", f"Parquet data unreadable: {str(exc).splitlines()[0]}"
            ) from None

    return Batches("parquet", schema, batches(), RaggedRows(), parquet.close)
