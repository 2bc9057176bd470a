"""Every input style through the arrival checks, without AWS: a defined outcome for each."""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from functions.data_arrival.checks import HEAD_BYTES, check_head, parquet_columns
from functions.data_arrival.gzip_scan import GzipLimits, scan_gzip
from functions.data_arrival.parquet_footer import TAIL_BYTES, read_columns
from functions.shared.settings import DataArrivalSettings, load_settings
from infra.config import load_config
from infra.contracts import settings_in_account

# The settings the stack gives data_arrival, with a two-column schema to test against.
SETTINGS = load_settings(
    DataArrivalSettings,
    settings_in_account(
        load_config(Path(__file__).resolve().parents[3] / "config/dev.json"),
        account="123456789012",
        region="us-east-1",
    )["data_arrival"]
    .model_copy(
        update={
            "schema_columns": ("x", "y"),
            "allowed_extensions": (".csv", ".parquet"),
            "allow_gzip": True,
            "max_object_bytes": 1_000_000,
        }
    )
    .to_env(),
)
LIMITS = GzipLimits(max_uncompressed_bytes=64 * 1024**2, max_ratio=100)


def _reason(key: str, body: bytes, complete: bool = True) -> str | None:
    rejection = check_head(key, body, complete, SETTINGS)
    return None if rejection is None else rejection.reason


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_line_ending_style_reads_the_same(newline):
    body = newline.join(["x,y", "1,2", "3,4", ""]).encode()
    assert _reason("k.csv", body) is None
    ragged = newline.join(["x,y", "1,2", "3", ""]).encode()
    rejection = check_head("k.csv", ragged, True, SETTINGS)
    assert rejection.reason == "ragged_rows"
    assert rejection.details["rows"] == [{"line": 3, "fields": 1}]


def test_cr_only_header_is_checked_not_crashed():
    # Before: csv.reader saw the whole sample as one line and raised _csv.Error.
    assert _reason("k.csv", b"x,y,z\r1,2,3\r") == "header_extra_columns"


def test_ragged_rows_are_named_and_blank_or_quoted_lines_are_not_ragged():
    assert _reason("k.csv", b'x,y\n1,2\n\n"multi\nline",2\n') is None
    rejection = check_head("k.csv", b"x,y\n1,2\n1,2,3\n4\n5,6\n", True, SETTINGS)
    assert rejection.reason == "ragged_rows"
    assert rejection.details == {
        "header_fields": 2,
        "rows": [{"line": 3, "fields": 3}, {"line": 4, "fields": 1}],
    }


def test_the_row_cut_by_the_end_of_the_head_is_not_judged():
    body = b"x,y\n" + b"1,2\n" * (HEAD_BYTES // 4)
    assert _reason("k.csv", body[: HEAD_BYTES - 2], complete=False) is None
    # ...but the header itself, ending right at the cut, is judged.
    assert _reason("k.csv", b"x,y,z\n", complete=False) == "header_extra_columns"


@pytest.mark.parametrize("header", [b"x ,y\n", b" x,y\n", b'"x","y "\n', b"x,y\t\n"])
def test_header_names_with_surrounding_whitespace_are_named(header):
    rejection = check_head("k.csv", header + b"1,2\n", True, SETTINGS)
    assert rejection.reason == "header_whitespace"
    assert len(rejection.details["columns"]) == 1


def test_latin1_in_the_head_names_its_offset():
    rejection = check_head("k.csv", "x,y\n1,é\n".encode("latin-1"), True, SETTINGS)
    assert rejection.reason == "not_utf8"
    assert rejection.details == {"byte_offset": 6, "byte": "0xe9"}


# -- gzip -------------------------------------------------------------------------------------


def _scan(body: bytes, limits: GzipLimits = LIMITS):
    return scan_gzip(io.BytesIO(body), len(body), limits)


def test_a_complete_gzip_returns_its_head():
    data = b"x,y\n" + "".join(f"{i},{i * 7919 % 10007}\n" for i in range(20_000)).encode()
    head, complete = _scan(gzip.compress(data))
    assert head == data[:HEAD_BYTES] and complete is False
    assert _scan(gzip.compress(b"x,y\n1,2\n")) == (b"x,y\n1,2\n", True)


@pytest.mark.parametrize("cut", [0.5, 0.99])
def test_a_truncated_gzip_is_named(cut):
    body = gzip.compress(b"x,y\n" + b"1,2\n" * 10_000)
    assert _scan(body[: int(len(body) * cut)]).reason == "gzip_truncated"


def test_a_gzip_missing_only_its_trailer_is_truncated():
    body = gzip.compress(b"x,y\n1,2\n")
    assert _scan(body[:-8]).reason == "gzip_truncated"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"x,y\n1,2\n", "invalid_gzip"),  # not gzip at all
        (gzip.compress(b"x,y\n") + b"garbage", "invalid_gzip"),
        (gzip.compress(b"x,y\n")[:10] + b"\xff" * 20 + gzip.compress(b"x")[-8:], "invalid_gzip"),
    ],
)
def test_corrupt_gzip_is_named(body, reason):
    assert _scan(body).reason == reason


def test_every_member_of_a_multi_member_gzip_is_read_and_counted():
    # The last member's ISIZE says 8 bytes; the stream holds far more: it is counted, not read
    # from the trailer.
    bomb = gzip.compress(b"0" * (8 * 1024**2)) + gzip.compress(b"x,y\n1,2\n")
    rejection = _scan(bomb, GzipLimits(max_uncompressed_bytes=4 * 1024**2, max_ratio=10**6))
    assert rejection.reason == "uncompressed_too_large"
    assert rejection.details["uncompressed_bytes_read"] > 4 * 1024**2
    head, complete = _scan(gzip.compress(b"x,y\n") + gzip.compress(b"1,2\n"))
    assert (head, complete) == (b"x,y\n1,2\n", True)


def test_the_decompression_ratio_is_bounded():
    body = gzip.compress(b"x,y\n" + b"0,0\n" * 2_000_000)  # ~8 MB from ~8 KB
    rejection = _scan(body)
    assert rejection.reason == "decompression_ratio_exceeded"
    assert rejection.details["compressed_size"] == len(body)
    assert _scan(body, GzipLimits(64 * 1024**2, max_ratio=100_000))[1] is False


def test_memory_stays_bounded_while_a_large_expansion_is_scanned():
    body = gzip.compress(b"x,y\n" + b"1,2\n" * 12_000_000, compresslevel=1)  # 48 MB inflated
    tracemalloc.start()
    try:
        result = _scan(body, GzipLimits(1024**3, max_ratio=10_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result[1] is False
    # The compressed input itself is in this test's memory, not the scan's.
    assert peak - len(body) < 8 * 1024**2


def test_latin1_beyond_the_head_of_a_gzip_is_found_with_its_offset():
    data = b"x,y\n" + b"1,2\n" * 40_000 + "3,é\n".encode("latin-1")
    rejection = _scan(gzip.compress(data))
    assert rejection.reason == "not_utf8"
    assert rejection.details["byte_offset"] == data.index(b"\xe9")


def test_a_character_split_across_chunks_is_not_an_error():
    data = b"x,y\n" + "1,é\n".encode() * 600_000  # crosses several 1 MiB chunk boundaries
    assert _scan(gzip.compress(data), GzipLimits(64 * 1024**2, 10_000))[1] is False


def test_a_gzip_cut_inside_a_character_is_not_utf8():
    data = b"x,y\n1," + "é".encode()[:1]
    stream = zlib.compressobj(wbits=31)
    body = stream.compress(data) + stream.flush()
    assert _scan(body).reason == "not_utf8"


# -- Parquet ----------------------------------------------------------------------------------


def _parquet(table: pa.Table, **options) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **options)
    return buffer.getvalue()


class Ranges:
    """An object served by ranged reads, recording each one."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reads: list[tuple[int, int]] = []

    def __call__(self, start: int, length: int) -> bytes:
        self.reads.append((start, length))
        return self.data[start : start + length]


NAMES = ["mean radius", "âge", "revenue/visit", "nested", "flag"]
TABLE = pa.table(
    {
        "mean radius": [1.0, 2.5],
        "âge": pa.array([1, 2], pa.int64()),
        "revenue/visit": ["a", None],
        "nested": pa.array([{"a": 1, "b": [1, 2]}, {"a": 2, "b": []}]),
        "flag": [True, False],
    }
)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"compression": "zstd", "use_dictionary": False},
        {"compression": "gzip", "write_statistics": False, "version": "1.0"},
        {"row_group_size": 1, "data_page_version": "2.0"},
    ],
)
def test_parquet_columns_are_read_from_files_pyarrow_writes(options):
    data = _parquet(TABLE, **options)
    assert read_columns(Ranges(data), len(data)) == NAMES


def test_parquet_with_a_pandas_index_and_many_columns():
    frame = pd.DataFrame({f"c{i}": [i, i] for i in range(2_000)}, index=["a", "b"])
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    data = buffer.getvalue()
    columns = read_columns(Ranges(data), len(data))
    assert "__index_level_0__" in columns
    assert parquet_columns(columns) == list(frame.columns)


def test_a_large_parquet_is_read_by_a_few_small_ranges():
    table = pa.table({"x": list(range(1_000_000)), "y": [float(i) for i in range(1_000_000)]})
    data = _parquet(table, compression="none")
    ranges = Ranges(data)
    assert read_columns(ranges, len(data)) == ["x", "y"]
    assert len(ranges.reads) <= 3
    assert sum(length for _, length in ranges.reads) <= TAIL_BYTES + 4


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda d: d[: len(d) // 2], "parquet_invalid"),  # cut: no magic at the end
        (lambda d: d[:-8] + (10**6).to_bytes(4, "little") + b"PAR1", "parquet_invalid"),
        (lambda d: d[:-8] + (0).to_bytes(4, "little") + b"PAR1", "parquet_invalid"),
        (lambda d: d[:-4] + b"PARE", "parquet_encrypted"),
        (lambda d: b"x,y\n1,2\n", "parquet_invalid"),  # a CSV named .parquet
        (lambda d: b"PAR1", "parquet_invalid"),
        # a footer of the right length that is not Thrift
        (
            lambda d: b"PAR1" + b"\xff" * 40 + (40).to_bytes(4, "little") + b"PAR1",
            "parquet_invalid",
        ),
    ],
)
def test_a_broken_parquet_is_named(mangle, reason):
    data = mangle(_parquet(TABLE))
    rejection = read_columns(Ranges(data), len(data))
    assert rejection.reason == reason


def test_a_footer_cut_inside_the_schema_is_invalid_not_a_crash():
    data = _parquet(TABLE)
    footer_length = int.from_bytes(data[-8:-4], "little")
    # Claim a footer shorter than it is: the schema now starts mid-way and ends early.
    for claimed in range(1, footer_length, 7):
        mangled = data[:-8] + claimed.to_bytes(4, "little") + b"PAR1"
        result = read_columns(Ranges(mangled), len(mangled))
        assert isinstance(result, list) or result.reason == "parquet_invalid"


def test_a_scan_that_runs_out_of_time_is_a_named_rejection_not_a_timeout():
    body = gzip.compress(b"x,y\n" + "".join(f"{i},{i}\n" for i in range(300_000)).encode())
    rejection = scan_gzip(io.BytesIO(body), len(body), LIMITS, out_of_time=lambda: True)
    assert rejection.reason == "check_time_exceeded"
    assert rejection.details["uncompressed_bytes_read"] > 0


@pytest.mark.parametrize(
    ("body", "looks_like"),
    [(gzip.compress(b"x,y\n1,2\n"), "gzip"), (_parquet(pa.table({"x": [1], "y": [2]})), "Parquet")],
)
def test_a_binary_format_under_a_csv_name_is_named_for_what_it_is(body, looks_like):
    rejection = check_head("incoming/a.csv", body, True, SETTINGS)
    assert rejection.reason == "extension_mismatch"
    assert rejection.details == {"extension": "csv", "looks_like": looks_like}
