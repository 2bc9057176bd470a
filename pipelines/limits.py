"""How much a data file may expand and how much of it is read at once: the one definition of the
config's `data.max_decompression_ratio` / `data.max_uncompressed_mb` defaults, shared by the
config model, the pipeline settings and the reader (free of pyarrow, so the config stays light)."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    # A gzip object may expand to this many times its stored size, and to at most this size.
    max_decompression_ratio: float = 100
    max_uncompressed_mb: int = 2048
    # The CSV bytes parsed at once, and the rows of a Parquet batch: the reader's memory.
    block_bytes: int = 4 * MB
    parquet_batch_rows: int = 131_072


DEFAULT_LIMITS = ReadLimits()
