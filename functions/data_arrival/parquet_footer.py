"""A Parquet object's magic bytes and footer, read by ranges, and its top-level column names.

Layout (https://parquet.apache.org/docs/file-format/): `PAR1`, the data, the footer (a Thrift
`FileMetaData` in the compact protocol), the footer's length (4 bytes, little-endian), `PAR1`.
An encrypted footer ends in `PARE` instead. The schema is the footer's second field, a flat list
of `SchemaElement`s in depth-first order: the root, then each column with `num_children` telling
how many of the following elements are its children. Only the schema is decoded; the row groups
after it are not read. Thrift's compact protocol:
https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md
"""

from __future__ import annotations

from collections.abc import Callable

from functions.data_arrival.checks import Rejection

MAGIC = b"PAR1"
ENCRYPTED_MAGIC = b"PARE"
# What one ranged read takes from the end: the length, the magic and, for most files, the footer.
TAIL_BYTES = 64 * 1024
# The most of a footer that is read to find the schema. A schema longer than this lists tens of
# thousands of columns, far more than a config can name (each feature is a drift alarm).
FOOTER_READ_BYTES = 1024 * 1024

# Compact protocol type ids.
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)
_MAX_DEPTH = 64


class FooterError(ValueError):
    """The footer is not a valid FileMetaData."""


class FooterCut(FooterError):
    """The bytes ended before the schema did."""


def read_columns(read_range: Callable[[int, int], bytes], size: int) -> list[str] | Rejection:
    """The top-level column names, from at most three ranged reads (start, end, rest of footer).

    `read_range(start, length)` returns those bytes of the object."""
    if size < len(MAGIC) * 2 + 4:
        return _invalid("the object is too small to be Parquet", size=size)
    tail_start = max(0, size - TAIL_BYTES)
    tail = read_range(tail_start, size - tail_start)
    if tail[-4:] == ENCRYPTED_MAGIC:
        return Rejection(
            "parquet_encrypted", "the Parquet footer is encrypted; the pipeline cannot read it"
        )
    head = tail[:4] if tail_start == 0 else read_range(0, 4)
    if head != MAGIC or tail[-4:] != MAGIC:
        return _invalid(
            "the object does not start and end with PAR1",
            first_bytes=head.hex(),
            last_bytes=tail[-4:].hex(),
        )
    footer_length = int.from_bytes(tail[-8:-4], "little")
    footer_start = size - 8 - footer_length
    if footer_length == 0 or footer_start < len(MAGIC):
        return _invalid(
            "the footer length does not fit in the object",
            footer_length=footer_length,
            size=size,
        )
    wanted = min(footer_length, FOOTER_READ_BYTES)
    if footer_start >= tail_start:
        footer = tail[footer_start - tail_start : footer_start - tail_start + wanted]
    else:
        footer = read_range(footer_start, wanted)
    try:
        return top_level_columns(footer)
    except FooterCut:
        if wanted < footer_length:
            return Rejection(
                "parquet_schema_too_large",
                f"the Parquet schema does not fit in the footer's first {FOOTER_READ_BYTES} B",
                {"footer_length": footer_length},
            )
        return _invalid("the footer ends inside its schema", footer_length=footer_length)
    except FooterError as exc:
        return _invalid(f"the footer is not valid Parquet metadata: {exc}")


def _invalid(message: str, **details: object) -> Rejection:
    return Rejection("parquet_invalid", message, dict(details))


def top_level_columns(footer: bytes) -> list[str]:
    """The names of the root's children in a FileMetaData's schema."""
    reader = _Compact(footer)
    schema: list[tuple[str, int]] | None = None
    last = 0
    while schema is None:
        field_id, kind, last = reader.field_header(last)
        if kind == 0:
            raise FooterError("no schema in the file metadata")
        if field_id == 2 and kind == _LIST:
            schema = [_schema_element(reader) for _ in range(reader.list_header(_STRUCT))]
        else:
            reader.skip(kind)
    if not schema:
        raise FooterError("the schema is empty")
    columns = []
    position = 1
    for _ in range(schema[0][1]):
        if position >= len(schema):
            raise FooterError("the root has more children than the schema lists")
        columns.append(schema[position][0])
        position = _after_subtree(schema, position)
    return columns


def _after_subtree(schema: list[tuple[str, int]], position: int) -> int:
    """The index right after the element at `position` and all its descendants."""
    remaining = 1
    while remaining:
        if position >= len(schema):
            raise FooterError("a column has more children than the schema lists")
        remaining += schema[position][1] - 1
        position += 1
    return position


def _schema_element(reader: _Compact) -> tuple[str, int]:
    """(name, num_children) of one SchemaElement: field 4 (name), field 5 (num_children)."""
    name: str | None = None
    children = 0
    last = 0
    while True:
        field_id, kind, last = reader.field_header(last)
        if kind == 0:
            break
        if field_id == 4 and kind == _BINARY:
            try:
                name = reader.binary().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FooterError("a column name is not UTF-8") from exc
        elif field_id == 5 and kind == _I32:
            children = reader.varint_signed()
            if children < 0:
                raise FooterError("a negative num_children")
        else:
            reader.skip(kind)
    if name is None:
        raise FooterError("a schema element has no name")
    return name, children


class _Compact:
    """A cursor over Thrift compact-protocol bytes; every read is bounded by the buffer."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.depth = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise FooterCut("the footer ends early")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def varint(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise FooterError("a varint longer than 64 bits")

    def varint_signed(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)  # zigzag

    def binary(self) -> bytes:
        return self.take(self.varint())

    def field_header(self, last: int) -> tuple[int, int, int]:
        """(field id, type, field id to pass next time); type 0 is the end of the struct."""
        b = self.byte()
        if b == 0:
            return 0, 0, last
        delta, kind = b >> 4, b & 0x0F
        field_id = last + delta if delta else self.varint_signed()
        if not _TRUE <= kind <= _STRUCT:
            raise FooterError(f"unknown field type {kind}")
        return field_id, kind, field_id

    def list_header(self, expected: int | None = None) -> int:
        b = self.byte()
        size, kind = b >> 4, b & 0x0F
        if size == 15:
            size = self.varint()
        if expected is not None and kind != expected:
            raise FooterError(f"a list of type {kind}, expected {expected}")
        # Every element takes at least one byte: a larger count is a lie, not a long list.
        if size > len(self.data) - self.pos:
            raise FooterCut("a list longer than the footer")
        self._element_kind = kind
        return size

    def skip(self, kind: int) -> None:
        """Skip one value of `kind` (a field's value: booleans are in the field header)."""
        if kind in (_TRUE, _FALSE):
            return
        self._skip_value(kind, in_collection=False)

    def _skip_value(self, kind: int, *, in_collection: bool) -> None:
        if kind in (_TRUE, _FALSE):
            if in_collection:
                self.take(1)  # a boolean element is one byte
        elif kind == _BYTE:
            self.take(1)
        elif kind in (_I16, _I32, _I64):
            self.varint()
        elif kind == _DOUBLE:
            self.take(8)
        elif kind == _BINARY:
            self.binary()
        elif kind in (_LIST, _SET, _MAP, _STRUCT):
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise FooterError("values nested too deeply")
            self._skip_container(kind)
            self.depth -= 1
        else:
            raise FooterError(f"unknown value type {kind}")

    def _skip_container(self, kind: int) -> None:
        if kind == _STRUCT:
            last = 0
            while True:
                _, field_kind, last = self.field_header(last)
                if field_kind == 0:
                    return
                self.skip(field_kind)
        elif kind == _MAP:
            size = self.varint()
            if size == 0:
                return
            kinds = self.byte()
            if size > len(self.data) - self.pos:
                raise FooterCut("a map longer than the footer")
            for _ in range(size):
                self._skip_value(kinds >> 4, in_collection=True)
                self._skip_value(kinds & 0x0F, in_collection=True)
        else:
            size = self.list_header()
            element = self._element_kind
            for _ in range(size):
                self._skip_value(element, in_collection=True)
