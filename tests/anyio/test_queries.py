"""execute / executemany / fetch / fetchrow / fetchval, Record, value types both ways, and the statement cache."""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import anyio
import pytest

import pgproto
from pgproto._shared._operations import BATCH_PART_ROWS
from pgproto_anyio import Connection, Record, connect

pytestmark = pytest.mark.anyio

QueryLog = list[tuple[str, tuple[object, ...], float]]


@pytest.fixture
async def conn(dsn: str) -> AsyncIterator[Connection]:
    async with connect(dsn) as connection:
        yield connection


# -- execute ----------------------------------------------------------------------------------------------------


async def test_execute_returns_the_command_tag(conn: Connection) -> None:
    with anyio.fail_after(10):
        assert await conn.execute("CREATE TEMP TABLE tags (x int)") == "CREATE TABLE"
        assert await conn.execute("INSERT INTO tags VALUES (1), (2), (3)") == "INSERT 0 3"
        assert await conn.execute("UPDATE tags SET x = x + 1 WHERE x > 1") == "UPDATE 2"
        assert await conn.execute("SELECT * FROM tags") == "SELECT 3"
        assert await conn.execute("DELETE FROM tags") == "DELETE 3"
        assert await conn.execute("SET search_path = pg_temp, public") == "SET"


async def test_execute_several_statements_returns_the_last_tag(conn: Connection) -> None:
    with anyio.fail_after(10):
        tag = await conn.execute(
            "CREATE TEMP TABLE multi (x int); INSERT INTO multi VALUES (1), (2); UPDATE multi SET x = x * 10"
        )
        assert tag == "UPDATE 2"
        assert [r[0] for r in await conn.fetch("SELECT x FROM multi ORDER BY x")] == [10, 20]


async def test_execute_with_arguments(conn: Connection) -> None:
    with anyio.fail_after(10):
        await conn.execute("CREATE TEMP TABLE args (id int, name text)")
        assert await conn.execute("INSERT INTO args VALUES ($1, $2)", 1, "one") == "INSERT 0 1"
        assert await conn.execute("INSERT INTO args VALUES ($1, $2)", 2, None) == "INSERT 0 1"
        assert await conn.execute("UPDATE args SET name = $1 WHERE id = $2", "uno", 1) == "UPDATE 1"
        rows = await conn.fetch("SELECT id, name FROM args ORDER BY id")
        assert [tuple(r) for r in rows] == [(1, "uno"), (2, None)]


async def test_execute_with_an_empty_query(conn: Connection) -> None:
    with anyio.fail_after(10):
        assert await conn.execute("") == ""
        assert await conn.fetchval("SELECT 1") == 1


# -- fetch, fetchrow, fetchval ------------------------------------------------------------------------------------


async def test_fetch(conn: Connection) -> None:
    with anyio.fail_after(10):
        rows = await conn.fetch("SELECT n, n * n AS sq FROM generate_series(1, $1::int) AS n", 4)
        assert isinstance(rows, list)
        assert all(isinstance(r, Record) for r in rows)
        assert [(r["n"], r["sq"]) for r in rows] == [(1, 1), (2, 4), (3, 9), (4, 16)]
        assert await conn.fetch("SELECT 1 WHERE false") == []
        assert await conn.fetch("CREATE TEMP TABLE fetch_ddl (x int)") == []


async def test_fetchrow(conn: Connection) -> None:
    with anyio.fail_after(10):
        row = await conn.fetchrow("SELECT $1::int AS a, $2::text AS b", 7, "seven")
        assert row is not None
        assert (row["a"], row["b"]) == (7, "seven")
        assert await conn.fetchrow("SELECT 1 WHERE false") is None
        first = await conn.fetchrow("SELECT n FROM generate_series(5, 9) AS n")
        assert first is not None and first[0] == 5


async def test_fetchval(conn: Connection) -> None:
    with anyio.fail_after(10):
        assert await conn.fetchval("SELECT 42") == 42
        assert await conn.fetchval("SELECT 1, 'two', 3.0::float8", column=1) == "two"
        assert await conn.fetchval("SELECT 1, 'two', 3.0::float8", column=2) == 3.0
        assert await conn.fetchval("SELECT 1 WHERE false") is None
        assert await conn.fetchval("SELECT NULL::int") is None


async def test_large_result_and_large_arguments(conn: Connection) -> None:
    blob = bytes(range(256)) * 8192  # 2 MiB: many socket reads and writes each way
    text = "ünïcødé ☃ " * 100_000
    with anyio.fail_after(20):
        rows = await conn.fetch("SELECT n, repeat('x', n % 50) FROM generate_series(1, 20000) AS n")
        assert len(rows) == 20000
        assert rows[-1][0] == 20000 and rows[-1][1] == "x" * (20000 % 50)
        assert await conn.fetchval("SELECT $1::bytea", blob) == blob
        assert await conn.fetchval("SELECT $1::text", text) == text
        assert await conn.fetchval("SELECT length($1::text)", text) == len(text)


async def test_concurrent_queries_on_one_connection(conn: Connection) -> None:
    results: dict[int, object] = {}

    async def query(i: int) -> None:
        results[i] = await conn.fetchval("SELECT $1::int * 2 FROM pg_sleep(0.001 * ($1::int % 3))", i)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            for i in range(30):
                tg.start_soon(query, i)
    assert results == {i: i * 2 for i in range(30)}


# -- Record -----------------------------------------------------------------------------------------------------


async def test_record_access(conn: Connection) -> None:
    with anyio.fail_after(10):
        r = await conn.fetchrow("SELECT 1 AS a, 'x' AS b, NULL::int AS c")
    assert r is not None
    assert (r[0], r[1], r[2], r[-1]) == (1, "x", None, None)
    assert (r["a"], r["b"], r["c"]) == (1, "x", None)
    assert r[0:2] == (1, "x")
    assert r.get("b") == "x"
    assert r.get("c", "default") is None
    assert r.get("missing") is None
    assert r.get("missing", 5) == 5
    assert list(r.keys()) == ["a", "b", "c"]
    assert list(r.values()) == [1, "x", None]
    assert list(r.items()) == [("a", 1), ("b", "x"), ("c", None)]
    assert len(r) == 3
    assert dict(r) == {"a": 1, "b": "x", "c": None}
    assert list(r) == [1, "x", None]
    a, b, c = r
    assert (a, b, c) == (1, "x", None)
    with pytest.raises(KeyError):
        r["missing"]
    with pytest.raises(IndexError):
        r[3]
    assert "a=1" in repr(r) and "b='x'" in repr(r) and "c=None" in repr(r)
    assert repr(r).startswith("<Record")


async def test_record_in_checks_column_names(conn: Connection) -> None:
    """asyncpg: `name in r` is True if the record has a field named `name` (asyncpg docs, "Record Objects")."""
    with anyio.fail_after(10):
        r = await conn.fetchrow("SELECT 1 AS a, 'x' AS b")
    assert r is not None
    assert "a" in r
    assert "b" in r
    assert "missing" not in r


async def test_record_equality_and_hash(conn: Connection) -> None:
    with anyio.fail_after(10):
        rows = await conn.fetch("SELECT * FROM (VALUES (1, 'a'), (1, 'a'), (2, 'b')) AS t(n, s)")
    assert rows[0] == rows[1]
    assert rows[0] != rows[2]
    assert hash(rows[0]) == hash(rows[1])
    assert len({rows[0], rows[1], rows[2]}) == 2


async def test_record_with_duplicate_column_names(conn: Connection) -> None:
    with anyio.fail_after(10):
        r = await conn.fetchrow("SELECT 1 AS a, 2 AS a, 3 AS b")
    assert r is not None
    assert len(r) == 3
    assert (r[0], r[1], r[2]) == (1, 2, 3)
    assert list(r.keys()) == ["a", "a", "b"]
    assert list(r.items()) == [("a", 1), ("a", 2), ("b", 3)]
    assert r["a"] in (1, 2)
    assert r["b"] == 3


async def test_record_of_unnamed_columns(conn: Connection) -> None:
    with anyio.fail_after(10):
        r = await conn.fetchrow("SELECT 1, 2 + 3, now() IS NOT NULL")
    assert r is not None
    assert list(r.keys()) == ["?column?", "?column?", "?column?"]
    assert list(r) == [1, 5, True]


# -- value types --------------------------------------------------------------------------------------------------

UTC = timezone.utc
PLUS_0530 = timezone(timedelta(hours=5, minutes=30))
SAMPLE_UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")

#: (SQL type, Python value): `SELECT $1::type` must give back an equal value of the same Python type.
ROUND_TRIPS: list[tuple[str, object]] = [
    ("int2", -32768),
    ("int2", 32767),
    ("int4", -(2**31)),
    ("int4", 2**31 - 1),
    ("int8", -(2**63)),
    ("int8", 2**63 - 1),
    ("float8", 1.5),
    ("float8", -1e300),
    ("float8", math.inf),
    ("float8", -math.inf),
    ("float4", 0.25),
    ("numeric", Decimal("0")),
    ("numeric", Decimal("-0.001")),
    ("numeric", Decimal("123456789012345678901234567890.123456789")),
    ("numeric", Decimal("1E+30")),
    ("numeric", Decimal("0.000000000000000000001")),
    ("text", ""),
    ("text", "héllo wörld ☃ 😀"),
    ("text", "quote ' double \" backslash \\ tab \t newline \n"),
    ("varchar", "varchar value"),
    ("name", "a_name"),
    ("bytea", b""),
    ("bytea", b"\x00\x01\xff\\'\""),
    ("bool", True),
    ("bool", False),
    ("date", date(2024, 2, 29)),
    ("date", date(1, 1, 1)),
    ("date", date(9999, 12, 31)),
    ("time", time(0, 0)),
    ("time", time(13, 14, 15, 123456)),
    ("timestamp", datetime(2024, 1, 2, 3, 4, 5, 678901)),
    ("timestamp", datetime(1, 1, 1)),
    ("timestamp", datetime(1999, 12, 31, 23, 59, 59, 999999)),
    ("timestamptz", datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)),
    ("timestamptz", datetime(2024, 7, 1, 12, 0, tzinfo=PLUS_0530)),
    ("interval", timedelta(0)),
    ("interval", timedelta(days=3, hours=4, minutes=5, seconds=6, microseconds=7)),
    ("interval", timedelta(days=-1, seconds=5)),
    ("interval", timedelta(days=10000)),
    ("uuid", SAMPLE_UUID),
    ("int4[]", [1, 2, 3]),
    ("int4[]", []),
    ("int4[]", [1, None, 3]),
    ("int4[]", [[1, 2], [3, 4]]),
    ("int4[]", [[[1], [2]], [[3], [None]]]),
    ("int8[]", [2**40, -(2**40)]),
    ("float8[]", [1.5, None, -2.25]),
    ("numeric[]", [Decimal("1.10"), None, Decimal("-3")]),
    ("text[]", ["a", "b,c", '"quoted"', "back\\slash", "NULL", None, "{}", " spaced ", ""]),
    ("text[]", [["a", "b"], ["c", None]]),
    ("bool[]", [True, False, None]),
    ("bytea[]", [b"\x00", b"", None]),
    ("date[]", [date(2020, 1, 1), None]),
    ("timestamptz[]", [datetime(2020, 1, 1, tzinfo=UTC)]),
    ("uuid[]", [SAMPLE_UUID, None]),
]


def _same(got: object, expected: object) -> bool:
    """Equal and of the same Python type, element by element for lists."""
    if isinstance(expected, list):
        return (
            isinstance(got, list) and len(got) == len(expected) and all(_same(g, e) for g, e in zip(got, expected))
        )
    return type(got) is type(expected) and got == expected


@pytest.mark.parametrize(("sql_type", "value"), ROUND_TRIPS, ids=[f"{t}-{i}" for i, (t, _) in enumerate(ROUND_TRIPS)])
async def test_value_round_trip(conn: Connection, sql_type: str, value: object) -> None:
    with anyio.fail_after(10):
        got = await conn.fetchval(f"SELECT $1::{sql_type}", value)
        assert _same(got, value), (got, value)
        # NULL of every type comes back as None.
        assert await conn.fetchval(f"SELECT $1::{sql_type}", None) is None
        # The server agrees on the value: compare there too (text form, so arrays and floats compare exactly).
        assert await conn.fetchval(f"SELECT $1::{sql_type} IS NOT DISTINCT FROM $2::{sql_type}", value, value)


async def test_values_through_a_table(conn: Connection) -> None:
    row_in = (
        7,
        2.5,
        Decimal("99.95"),
        "text",
        b"\x00bytes",
        True,
        date(2024, 5, 6),
        time(7, 8, 9),
        datetime(2024, 5, 6, 7, 8, 9),
        datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        timedelta(hours=1, minutes=2),
        SAMPLE_UUID,
        [[1, 2], [None, 4]],
        '{"a": [1, 2, {"b": null}]}',
    )
    with anyio.fail_after(10):
        await conn.execute(
            "CREATE TEMP TABLE all_types (i int8, f float8, n numeric, t text, b bytea, bo bool, d date, tm time,"
            " ts timestamp, tstz timestamptz, iv interval, u uuid, a int4[], j json)"
        )
        await conn.execute("INSERT INTO all_types VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                           *row_in)  # fmt: skip
        row = await conn.fetchrow("SELECT * FROM all_types")
    assert row is not None
    for got, expected in zip(row, row_in):
        assert _same(got, expected), (got, expected)


#: Literal values of every supported type, computed by the server (no parameters).
LITERALS_SQL = """SELECT 1::int2, 2::int4, 3::int8, 1.5::float4, 2.5::float8, 1.10::numeric, 'NaN'::numeric,
    'txt'::text, 'ch'::char(4), '\\x0102'::bytea, true, '2024-01-02'::date, '03:04:05'::time,
    '2024-01-02 03:04:05.5'::timestamp, '2024-01-02 03:04:05+02'::timestamptz,
    '1 day 02:03:04'::interval, '12345678-1234-5678-1234-567812345678'::uuid,
    ARRAY[1, NULL, 3], '{{a,b},{c,NULL}}'::text[], '{"k": 1}'::json, '{"k":   1}'::jsonb,
    NULL, 'NaN'::float8, '-infinity'::float8"""


def check_literals(row: Sequence[object]) -> None:
    """The values of LITERALS_SQL decode to the Python types asyncpg gives (shared with tests/sync)."""
    values = list(row)
    expected: list[object] = [
        1,
        2,
        3,
        1.5,
        2.5,
        Decimal("1.10"),
        None,  # NaN: checked below
        "txt",
        "ch  ",
        b"\x01\x02",
        True,
        date(2024, 1, 2),
        time(3, 4, 5),
        datetime(2024, 1, 2, 3, 4, 5, 500000),
        datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC),
        timedelta(days=1, hours=2, minutes=3, seconds=4),
        SAMPLE_UUID,
        [1, None, 3],
        [["a", "b"], ["c", None]],
        '{"k": 1}',
        '{"k": 1}',
        None,
    ]
    nan = values.pop(6)
    expected.pop(6)
    assert isinstance(nan, Decimal) and nan.is_nan()
    assert math.isnan(values[-2]) and values[-1] == -math.inf  # type: ignore[arg-type]  # floats, asserted below
    assert type(values[-2]) is float
    for got, want in zip(values[:-2], expected):
        assert _same(got, want), (got, want)


async def test_literal_results(conn: Connection) -> None:
    """Values the server computes (no parameters) decode to the Python types asyncpg gives."""
    with anyio.fail_after(10):
        row = await conn.fetchrow(LITERALS_SQL)
    assert row is not None
    check_literals(list(row))


async def test_timestamptz_result_is_aware(conn: Connection) -> None:
    with anyio.fail_after(10):
        await conn.execute("SET TimeZone = 'Asia/Kolkata'")
        got = await conn.fetchval("SELECT '2024-01-02 03:04:05+00'::timestamptz")
    assert isinstance(got, datetime) and got.tzinfo is not None
    assert got == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_json_is_text(conn: Connection) -> None:
    document = '{"b": [1, 2.5, "x"], "a": null}'
    with anyio.fail_after(10):
        assert await conn.fetchval("SELECT $1::json", document) == document
        jsonb = await conn.fetchval("SELECT $1::jsonb", document)
        assert isinstance(jsonb, str)
        assert await conn.fetchval("SELECT $1::jsonb = $2::jsonb", jsonb, document) is True
        assert await conn.fetchval("SELECT $1::jsonb ->> 'b'", document) == '[1, 2.5, "x"]'


async def test_parameter_types_inferred_by_the_server(conn: Connection) -> None:
    with anyio.fail_after(10):
        await conn.execute("CREATE TEMP TABLE inferred (i int, n numeric, t timestamptz, a text[])")
        when = datetime(2020, 2, 2, 2, 2, 2, tzinfo=UTC)
        await conn.execute("INSERT INTO inferred VALUES ($1, $2, $3, $4)", 5, Decimal("1.5"), when, ["x", None])
        row = await conn.fetchrow("SELECT * FROM inferred WHERE i = $1 AND t = $2", 5, when)
    assert row is not None
    assert tuple(row) == (5, Decimal("1.5"), when, ["x", None])


# -- the statement cache ----------------------------------------------------------------------------------------

PREPARED = "SELECT name, generic_plans + custom_plans AS runs FROM pg_prepared_statements WHERE statement = $1"


async def test_a_repeated_query_is_parsed_once(conn: Connection) -> None:
    query = "SELECT $1::int + 1 AS repeated"
    with anyio.fail_after(10):
        for i in range(5):
            assert await conn.fetchval(query, i) == i + 1
        rows = await conn.fetch(PREPARED, query)
    assert len(rows) == 1, rows
    assert rows[0]["runs"] == 5


async def test_statement_cache_is_shared_by_all_fetch_methods(conn: Connection) -> None:
    query = "SELECT $1::text AS shared"
    with anyio.fail_after(10):
        await conn.execute(query, "a")
        await conn.fetch(query, "b")
        await conn.fetchrow(query, "c")
        await conn.fetchval(query, "d")
        rows = await conn.fetch(PREPARED, query)
    assert [r["runs"] for r in rows] == [4]


async def test_statement_cache_size_bounds_server_statements(dsn: str) -> None:
    with anyio.fail_after(10):
        async with connect(dsn, statement_cache_size=3) as conn:
            for i in range(10):
                assert await conn.fetchval(f"SELECT $1::int + {i}", 1) == 1 + i
            count = await conn.fetchval("SELECT count(*) FROM pg_prepared_statements")
    assert count == 3


async def test_statement_cache_disabled(dsn: str) -> None:
    with anyio.fail_after(10):
        async with connect(dsn, statement_cache_size=0) as conn:
            for i in range(3):
                assert await conn.fetchval("SELECT $1::int", i) == i
            assert await conn.fetchval("SELECT count(*) FROM pg_prepared_statements") == 0


async def test_select_star_after_alter_table(conn: Connection) -> None:
    with anyio.fail_after(10):
        await conn.execute("CREATE TEMP TABLE altered (a int); INSERT INTO altered VALUES (1)")
        rows = await conn.fetch("SELECT * FROM altered")
        assert [dict(r) for r in rows] == [{"a": 1}]

        await conn.execute("ALTER TABLE altered ADD COLUMN b text DEFAULT 'new'")
        rows = await conn.fetch("SELECT * FROM altered")
        assert [dict(r) for r in rows] == [{"a": 1, "b": "new"}]

        await conn.execute("ALTER TABLE altered ALTER COLUMN a TYPE text")
        rows = await conn.fetch("SELECT * FROM altered")
        assert [dict(r) for r in rows] == [{"a": "1", "b": "new"}]

        await conn.execute("ALTER TABLE altered DROP COLUMN b")
        assert await conn.fetchrow("SELECT * FROM altered") == ("1",)
        assert await conn.fetchval("SELECT 1") == 1


async def test_cached_insert_after_alter_table(conn: Connection) -> None:
    # The statement keeps the parameter types it was parsed with (int); the server casts them to the new column type.
    query = "INSERT INTO retyped VALUES ($1)"
    with anyio.fail_after(10):
        await conn.execute("CREATE TEMP TABLE retyped (a int)")
        await conn.execute(query, 1)
        await conn.execute("ALTER TABLE retyped ALTER COLUMN a TYPE text")
        await conn.execute(query, 2)
        assert [r[0] for r in await conn.fetch("SELECT a FROM retyped ORDER BY a")] == ["1", "2"]


# -- executemany ------------------------------------------------------------------------------------------------


async def test_executemany_inserts_every_row_in_one_batch(conn: Connection) -> None:
    rows = [(i, f"row {i}") for i in range(1, 1001)]
    log: QueryLog = []
    query = "INSERT INTO many (id, label) VALUES ($1, $2)"
    with anyio.fail_after(20):
        await conn.execute("CREATE TEMP TABLE many (id int PRIMARY KEY, label text)")
        with conn.query_logger(lambda q, a, d: log.append((q, a, d))):
            assert await conn.executemany(query, rows) is None  # type: ignore[func-returns-value]  # the contract
        stats = await conn.fetchrow(
            "SELECT count(*), sum(id), count(DISTINCT xmin::text), min(label), max(id) FROM many"
        )
    assert stats is not None
    assert tuple(stats) == (1000, 500500, 1, "row 1", 1000)  # one transaction: one xmin for all rows
    assert len(log) == 1  # one batch, logged once
    logged_query, logged_args, duration = log[0]
    assert logged_query == query
    assert logged_args == tuple(rows)
    assert isinstance(duration, float) and duration >= 0


async def test_executemany_is_atomic(conn: Connection) -> None:
    rows = [(i,) for i in range(1, 1001)]
    with anyio.fail_after(20):
        await conn.execute("CREATE TEMP TABLE atomic (id int CHECK (id <> 500))")
        with pytest.raises(pgproto.CheckViolationError):
            await conn.executemany("INSERT INTO atomic VALUES ($1)", rows)
        assert await conn.fetchval("SELECT count(*) FROM atomic") == 0
        # The connection goes on, and the same statement works with good rows.
        await conn.executemany("INSERT INTO atomic VALUES ($1)", rows[:10])
        assert await conn.fetchval("SELECT count(*) FROM atomic") == 10


async def test_executemany_with_no_rows(conn: Connection) -> None:
    with anyio.fail_after(10):
        await conn.execute("CREATE TEMP TABLE none_inserted (id int)")
        await conn.executemany("INSERT INTO none_inserted VALUES ($1)", [])
        assert await conn.fetchval("SELECT count(*) FROM none_inserted") == 0


async def test_executemany_rejects_a_bad_row_before_sending(conn: Connection) -> None:
    with anyio.fail_after(10):
        await conn.execute("CREATE TEMP TABLE bad_row (id int, name text)")
        with pytest.raises(pgproto.InterfaceError, match="row 3"):
            await conn.executemany("INSERT INTO bad_row VALUES ($1, $2)", [(1, "a"), (2, "b"), (3,), (4, "d")])
        with pytest.raises(pgproto.ArgumentError, match=r"row 2.*\$1"):
            await conn.executemany("INSERT INTO bad_row VALUES ($1, $2)", [(1, "a"), ("two", "b")])
        assert await conn.fetchval("SELECT count(*) FROM bad_row") == 0
        await conn.executemany("INSERT INTO bad_row VALUES ($1, $2)", [(1, "a"), (2, "b")])
        assert await conn.fetchval("SELECT count(*) FROM bad_row") == 2


# A batch larger than BATCH_PART_ROWS goes in parts, each sent while the next is encoded: still all or nothing.
PARTS_ROWS = 3 * BATCH_PART_ROWS + 7


async def test_executemany_in_parts_inserts_every_row_in_one_transaction(conn: Connection) -> None:
    with anyio.fail_after(30):
        await conn.execute("CREATE TEMP TABLE parts (id int PRIMARY KEY)")
        await conn.executemany("INSERT INTO parts VALUES ($1)", [(i,) for i in range(PARTS_ROWS)])
        stats = await conn.fetchrow("SELECT count(*), sum(id), count(DISTINCT xmin::text) FROM parts")
        assert tuple(stats or ()) == (PARTS_ROWS, PARTS_ROWS * (PARTS_ROWS - 1) // 2, 1)
        assert await conn.fetchval("SELECT 'idle after'") == "idle after"


@pytest.mark.parametrize("in_transaction", [False, True], ids=["idle", "in-transaction"])
async def test_executemany_in_parts_refused_by_the_server_in_a_later_part(
    conn: Connection, in_transaction: bool
) -> None:
    rows = [(i,) for i in range(PARTS_ROWS)]
    failing = 2 * BATCH_PART_ROWS + 3  # in the third part; the parts after it fail too, for the same reason
    with anyio.fail_after(30):
        await conn.execute(f"CREATE TEMP TABLE refused (id int CHECK (id <> {failing}))")
        if in_transaction:
            await conn.execute("BEGIN")
        with pytest.raises(pgproto.CheckViolationError):  # the first failure, not "transaction is aborted"
            await conn.executemany("INSERT INTO refused VALUES ($1)", rows)
        if in_transaction:  # as when any statement fails: the application's transaction is failed
            with pytest.raises(pgproto.InFailedSQLTransactionError):
                await conn.fetchval("SELECT 1")
            await conn.execute("ROLLBACK")
        assert await conn.fetchval("SELECT count(*) FROM refused") == 0
        await conn.executemany("INSERT INTO refused VALUES ($1)", rows[:failing])
        assert await conn.fetchval("SELECT count(*) FROM refused") == failing


@pytest.mark.parametrize("in_transaction", [False, True], ids=["idle", "in-transaction"])
@pytest.mark.parametrize("bad_row", [3, 2 * BATCH_PART_ROWS + 3])
async def test_executemany_in_parts_with_a_row_that_cannot_be_encoded(
    conn: Connection, in_transaction: bool, bad_row: int
) -> None:
    rows: list[tuple[object, ...]] = [(i,) for i in range(PARTS_ROWS)]
    rows[bad_row - 1] = ("not a number",)
    with anyio.fail_after(30):
        await conn.execute("CREATE TEMP TABLE unencodable (id int)")
        if in_transaction:
            await conn.execute("BEGIN")
            await conn.execute("INSERT INTO unencodable VALUES (-1)")
        with pytest.raises(pgproto.ArgumentError, match=rf"row {bad_row}\b.*\$1"):
            await conn.executemany("INSERT INTO unencodable VALUES ($1)", rows)
        # The parts sent before the bad row are undone; the application's transaction goes on as it was.
        assert await conn.fetchval("SELECT count(*) FROM unencodable") == (1 if in_transaction else 0)
        if in_transaction:
            await conn.execute("COMMIT")
        assert await conn.fetchval("SELECT count(*) FROM unencodable") == (1 if in_transaction else 0)


async def test_executemany_accepts_any_iterable(conn: Connection) -> None:
    with anyio.fail_after(10):
        await conn.execute("CREATE TEMP TABLE from_gen (id int, sq int)")
        await conn.executemany("INSERT INTO from_gen VALUES ($1, $2)", ([i, i * i] for i in range(5)))
        assert await conn.fetchval("SELECT sum(sq) FROM from_gen") == 30
