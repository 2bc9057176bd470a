"""Every input the reader can meet has a defined outcome: rows, or a named violation saying what
is wrong and where, never a traceback."""

from __future__ import annotations

import gzip

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.datasets import generate_churn
from pipelines.limits import ReadLimits
from pipelines.steps.reader import UnreadableData, open_batches
from pipelines.steps.tabular import read_typed, to_typed

LIMITS = ReadLimits(block_bytes=1 << 16)


def _read(path, limits=LIMITS):
    with open_batches(path, limits) as opened:
        rows = sum(b.num_rows for b in opened.batches)
    return opened, rows


def _violation(path, limits=LIMITS) -> UnreadableData:
    with pytest.raises(UnreadableData) as caught:
        _read(path, limits)
    return caught.value


def _csv_bytes(rows: int = 2000) -> bytes:
    return generate_churn(rows, seed=2).to_csv(index=False).encode()


def test_a_truncated_gzip_is_named(tmp_path):
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(gzip.compress(_csv_bytes())[:-200])
    assert _violation(path).reason == "gzip_truncated"


def test_a_small_decompression_bomb_stops_at_the_ratio(tmp_path):
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * 4_000_000))  # 16 MB from ~16 KB
    violation = _violation(path, ReadLimits(max_decompression_ratio=50, block_bytes=1 << 16))
    assert violation.reason == "decompression_ratio_exceeded"
    assert "data.max_decompression_ratio" in violation.message


def test_the_absolute_cap_holds_for_a_compressible_file(tmp_path):
    path = tmp_path / "big.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * 800_000))  # 3.2 MB
    limits = ReadLimits(max_decompression_ratio=1e6, max_uncompressed_mb=2, block_bytes=1 << 16)
    violation = _violation(path, limits)
    assert violation.reason == "uncompressed_too_large"
    assert "2 MB" in violation.message and "data.max_uncompressed_mb" in violation.message


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_every_line_ending_reads_the_same_rows(tmp_path, ending, churn_schema):
    text = _csv_bytes(300).replace(b"\n", ending)
    path = tmp_path / "endings.csv"
    path.write_bytes(text)
    typed = read_typed(path, churn_schema)
    expected = to_typed(generate_churn(300, seed=2).astype(str).replace("nan", None), churn_schema)
    pd.testing.assert_frame_equal(typed, expected)


def test_a_latin1_byte_after_64_kb_is_named_with_its_offset(tmp_path):
    clean = _csv_bytes(3000)
    assert len(clean) > 70_000
    offset = clean.index(b"\n", 70_000) + 1
    path = tmp_path / "latin1.csv"
    path.write_bytes(clean[:offset] + "é".encode("latin-1") + clean[offset:])
    violation = _violation(path)
    assert violation.reason == "not_utf8"
    assert f"byte 0xe9 at offset {offset}" in violation.message


def test_a_latin1_byte_inside_a_gzip_is_named_too(tmp_path):
    clean = _csv_bytes(3000)
    path = tmp_path / "latin1.csv.gz"
    path.write_bytes(gzip.compress(clean + b"caf\xe9,1\n"))
    violation = _violation(path)
    assert violation.reason == "not_utf8" and f"offset {len(clean) + 3}" in violation.message


def test_a_trailing_space_in_a_header_name_is_named(tmp_path):
    path = tmp_path / "space.csv"
    path.write_bytes(_csv_bytes(10).replace(b"age,", b"age ,", 1))
    violation = _violation(path)
    assert violation.reason == "header_whitespace" and "'age '" in violation.message


def test_ragged_rows_are_counted_with_their_line_numbers(tmp_path):
    lines = _csv_bytes(2000).split(b"\n")
    lines[1500] += b",extra"
    lines[1700] = lines[1700].rsplit(b",", 2)[0]
    path = tmp_path / "ragged.csv"
    path.write_bytes(b"\n".join(lines))
    opened, rows = _read(path)
    assert rows == 1998
    assert opened.ragged.count == 2
    assert opened.ragged.message() == (
        "2 row(s) without the header's 9 fields (line 1501, line 1701)"
    )


def test_an_empty_file_and_a_damaged_parquet_are_named(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert _violation(empty).reason == "empty_object"
    damaged = tmp_path / "damaged.parquet"
    generate_churn(50, seed=1).to_parquet(damaged)
    damaged.write_bytes(damaged.read_bytes()[:-30])
    assert _violation(damaged).reason == "parquet_invalid"


def test_parquet_is_read_with_its_own_types(tmp_path, churn_schema):
    frame = generate_churn(500, seed=4)
    path = tmp_path / "churn.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    from_parquet = read_typed(path, churn_schema)
    csv = tmp_path / "churn.csv"
    frame.to_csv(csv, index=False)
    pd.testing.assert_frame_equal(from_parquet, read_typed(csv, churn_schema))


def test_missing_markers_are_the_ones_serving_reads_as_missing(tmp_path, churn_schema):
    frame = generate_churn(20, seed=5).astype(str)
    frame.loc[0, "contract"] = "None"
    frame.loc[1, "contract"] = "<NA>"
    frame.loc[2, "age"] = "NA"
    path = tmp_path / "markers.csv"
    frame.to_csv(path, index=False)
    typed = read_typed(path, churn_schema)
    assert typed["contract"][:2].isna().all() and pd.isna(typed["age"][2])
