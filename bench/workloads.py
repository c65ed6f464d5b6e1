"""The workloads: their SQL, their default sizes, and the tables they need (created once per run)."""

from __future__ import annotations

from typing import Final

#: Items per workload, as issue 6 specifies them.
SIZES: Final = {
    "rtt": 5_000,
    "rtt_param": 5_000,
    "fetch": 100_000,
    "notify": 50_000,
    "executemany": 10_000,
    "notices": 10_000,
}
WORKLOADS: Final = tuple(SIZES)

#: What one item is, for the report.
ITEMS: Final = {
    "rtt": "query",
    "rtt_param": "query",
    "fetch": "row",
    "notify": "notification",
    "executemany": "row",
    "notices": "notice",
}

DESCRIPTIONS: Final = {
    "rtt": "sequential `SELECT 1`",
    "rtt_param": "sequential `SELECT $1::int4`",
    "fetch": "rows of int4, int8, text(20), float8, bool, timestamptz, numeric(12,2) into Python objects",
    "notify": "notifications sent by another connection in one statement, counted by the listener's callback",
    "executemany": "rows of (int4, text) inserted by one executemany",
    "notices": "`RAISE NOTICE` in one DO block, counted by a log listener",
}

#: Warm-up queries before an rtt measurement starts (statement preparation, caches).
WARMUP: Final = 50

CHANNEL: Final = "bench_channel"

#: The fetch table: the rows are made once, so every driver reads the same bytes.
FETCH_TABLE_SQL: Final = """
DROP TABLE IF EXISTS bench_fetch;
CREATE UNLOGGED TABLE bench_fetch AS
SELECT g::int4 AS a,
       (g::int8 * 1000003) AS b,
       substr(md5(g::text), 1, 20) AS c,
       g / 7.0::float8 AS d,
       g % 2 = 0 AS e,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' AS f,
       (g * 1.37)::numeric(12, 2) AS h
FROM generate_series(1, {rows}) AS g;
DROP TABLE IF EXISTS bench_insert;
CREATE UNLOGGED TABLE bench_insert (a int4, b text);
"""
FETCH_COLUMNS: Final = "a, b, c, d, e, f, h"


def notify_sql(n: int) -> str:
    """One statement that sends `n` notifications (distinct payloads: the server folds duplicates)."""
    return f"SELECT count(pg_notify('{CHANNEL}', g::text)) FROM generate_series(1, {int(n)}) AS g"


def notices_sql(n: int) -> str:
    """One DO block that raises `n` notices."""
    return f"DO $$BEGIN FOR i IN 1..{int(n)} LOOP RAISE NOTICE 'notice %', i; END LOOP; END$$"


def insert_rows(n: int) -> list[tuple[int, str]]:
    """The executemany rows: an int and a ~20-character text."""
    return [(i, f"row number {i:010d}") for i in range(n)]
