"""Every input style through the data_arrival function on moto: started, or quarantined with a
named reason; never a traceback (which would retry and then dead-letter the event)."""

from __future__ import annotations

import gzip
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lambda_fixtures import DATA_BUCKET, SCHEMA, handler, s3_event

ROWS = [["12", "70.5", "one-year", "0"], ["3", "20.0", "month-to-month", "1"]]


def _csv(newline: str = "\n", header: list[str] = SCHEMA, rows=ROWS) -> bytes:
    return "".join(",".join(r) + newline for r in [header, *rows]).encode()


def _long_csv(rows: int) -> bytes:
    lines = [",".join(SCHEMA)] + [f"{i % 120},{i % 500}.5,one-year,{i % 2}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _parquet(columns: list[str] = SCHEMA) -> bytes:
    table = pa.table(
        {name: [str(v) for v in values] for name, *values in zip(columns, *ROWS, strict=False)}
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _arrive(aws, context, key: str, body: bytes) -> dict:
    version = aws.put(key, body)
    return handler("data_arrival")(s3_event(key, version, len(body)), context)


def _reason_file(aws, key: str) -> dict:
    return aws.json_object(DATA_BUCKET, f"quarantine/{key}.reason.json")


@pytest.mark.parametrize(
    ("key", "body"),
    [
        ("incoming/lf.csv", _csv("\n")),
        ("incoming/crlf.csv", _csv("\r\n")),
        ("incoming/cr.csv", _csv("\r")),
        ("incoming/UPPER.CSV", _csv()),
        ("incoming/packed.CSV.GZ", gzip.compress(_csv())),
        ("incoming/members.csv.gz", gzip.compress(_csv()[:40]) + gzip.compress(_csv()[40:])),
        ("incoming/table.parquet", _parquet()),
        ("incoming/TABLE.PARQUET", _parquet([*SCHEMA[2:], *SCHEMA[:2]])),  # any column order
    ],
)
def test_every_accepted_style_starts_a_run(aws, context, key, body):
    result = _arrive(aws, context, key, body)
    assert result["status"] == "started", result
    assert result["key"] == key


@pytest.mark.parametrize(
    ("key", "body", "reason"),
    [
        # CR-only endings used to crash the header check with _csv.Error.
        (
            "incoming/cr-extra.csv",
            _csv("\r", [*SCHEMA, "x"], [[*ROWS[0], "1"]]),
            "header_extra_columns",
        ),
        ("incoming/cr-ragged.csv", _csv("\r", rows=[ROWS[0], ROWS[1][:2]]), "ragged_rows"),
        ("incoming/ragged.csv", _csv(rows=[ROWS[0], [*ROWS[1], "9"]]), "ragged_rows"),
        ("incoming/space.csv", _csv(header=[*SCHEMA[:-1], SCHEMA[-1] + " "]), "header_whitespace"),
        ("incoming/cut.csv.gz", gzip.compress(_long_csv(20_000))[:-1000], "gzip_truncated"),
        (
            "incoming/bomb.csv.gz",
            gzip.compress(_csv() + b"\n" * 5_000_000),
            "decompression_ratio_exceeded",
        ),
        (
            "incoming/late-latin1.csv.gz",
            gzip.compress(_long_csv(5_000) + "5,1.0,été,0\n".encode("latin-1")),
            "not_utf8",
        ),
        ("incoming/short.parquet", _parquet(SCHEMA[:-1]), "header_missing_columns"),
        ("incoming/cut.parquet", _parquet()[:-100], "parquet_invalid"),
        ("incoming/renamed.parquet", _csv(), "parquet_invalid"),
        ("incoming/packed.parquet.gz", gzip.compress(_parquet()), "parquet_gzipped"),
    ],
)
def test_each_bad_style_is_quarantined_with_its_reason(aws, context, key, body, reason):
    result = _arrive(aws, context, key, body)
    assert result == {"status": "quarantined", "reason": reason, "key": key}
    record = _reason_file(aws, key)
    assert record["reason"] == reason and record["message"]
    assert aws.executions() == []


def test_gzip_bounds_come_from_the_settings(aws, context, monkeypatch):
    body = gzip.compress(_long_csv(20_000))  # expands about 4 times
    monkeypatch.setenv("MAX_DECOMPRESSION_RATIO", "2")
    result = _arrive(aws, context, "incoming/two.csv.gz", body)
    assert result["reason"] == "decompression_ratio_exceeded"
    assert _reason_file(aws, "incoming/two.csv.gz")["details"]["max_decompression_ratio"] == 2


def test_gzip_absolute_bound_from_the_settings(aws, context, monkeypatch):
    body = gzip.compress(_long_csv(20_000))
    monkeypatch.setenv("MAX_UNCOMPRESSED_BYTES", "100000")
    result = _arrive(aws, context, "incoming/abs.csv.gz", body)
    assert result["reason"] == "uncompressed_too_large"


def test_parquet_is_checked_by_ranged_reads_only(aws, context, monkeypatch):
    from functions.shared.clients import client

    monkeypatch.setenv("MAX_OBJECT_BYTES", str(50 * 1024**2))
    calls: list[dict] = []
    # The function's own cached client (the fixture starts each test without one).
    client("s3").meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: calls.append(params)
    )
    table = pa.table({name: [str(i) for i in range(200_000)] for name in SCHEMA})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="none")
    result = _arrive(aws, context, "incoming/big.parquet", buffer.getvalue())
    assert result["status"] == "started"
    assert len(buffer.getvalue()) > 10 * 64 * 1024
    assert calls and all(c["Range"] for c in calls)
