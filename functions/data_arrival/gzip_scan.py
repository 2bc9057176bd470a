"""Read a gzip object once, in chunks, to bound what it expands to and to find where it breaks.

The gzip trailer's ISIZE is no bound: it is the size of the last member only (a file may hold
many members) and only modulo 2**32 (RFC 1952, section 2.3.1), and a cut file has no trailer at
all. The only true size is the one counted while decompressing, so the whole stream is inflated
here, one chunk at a time, and thrown away; it stops as soon as the count passes the limit. The
memory used is one chunk and the head, whatever the object's size; the work is at most the
limit's worth of output.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from functions.data_arrival.checks import HEAD_BYTES, Rejection, not_utf8

CHUNK_BYTES = 1024 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class GzipLimits:
    max_uncompressed_bytes: int
    max_ratio: int  # uncompressed bytes per compressed byte

    def limit(self, compressed_size: int) -> int:
        return min(self.max_uncompressed_bytes, self.max_ratio * compressed_size)


def scan_gzip(
    stream: Readable,
    compressed_size: int,
    limits: GzipLimits,
    out_of_time: Callable[[], bool] = lambda: False,
) -> tuple[bytes, bool] | Rejection:
    """(the first HEAD_BYTES decompressed, whether that is all of it), or why the object fails:
    not gzip, corrupt, cut short, not UTF-8, or expanding past the limits."""
    limit = limits.limit(compressed_size)
    head = bytearray()
    total = 0
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        # GzipFile reads every member, checks each one's CRC and length, and only ever asks
        # `stream` for a small buffer at a time; read(n) returns at most n bytes.
        with gzip.GzipFile(fileobj=stream, mode="rb") as unzipped:  # type: ignore[arg-type]
            while chunk := unzipped.read(CHUNK_BYTES):
                pending = decoder.getstate()[0]
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    buffered = pending + chunk
                    return not_utf8(
                        total - len(pending) + exc.start, buffered[exc.start : exc.start + 1]
                    )
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                total += len(chunk)
                if total > limit:
                    return _too_large(total, compressed_size, limits)
                if out_of_time():
                    return Rejection(
                        "check_time_exceeded",
                        "the object could not be decompressed within the function's time limit",
                        {"uncompressed_bytes_read": total, "compressed_size": compressed_size},
                    )
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                return not_utf8(total - len(decoder.getstate()[0]) + exc.start, b"")
    except gzip.BadGzipFile as exc:
        return Rejection("invalid_gzip", f"the object is not valid gzip data: {exc}")
    except EOFError:
        return Rejection(
            "gzip_truncated",
            "the gzip stream ends before its end marker: the upload was cut short",
            {"uncompressed_bytes_read": total, "compressed_size": compressed_size},
        )
    except zlib.error as exc:
        return Rejection("invalid_gzip", "the gzip stream is corrupt", {"error": str(exc)})
    return bytes(head), total == len(head)


def _too_large(total: int, compressed_size: int, limits: GzipLimits) -> Rejection:
    details = {
        "uncompressed_bytes_read": total,
        "compressed_size": compressed_size,
        "max_uncompressed_bytes": limits.max_uncompressed_bytes,
        "max_decompression_ratio": limits.max_ratio,
    }
    if limits.max_ratio * compressed_size < limits.max_uncompressed_bytes:
        return Rejection(
            "decompression_ratio_exceeded",
            f"the object expands more than {limits.max_ratio} times its size "
            "(data.max_decompression_ratio)",
            details,
        )
    return Rejection(
        "uncompressed_too_large",
        f"the object expands past {limits.max_uncompressed_bytes} bytes (data.max_uncompressed_mb)",
        details,
    )
