"""Value codecs against a real server: text results (simple query), the formats the core picks for
prepared statements, and parameters encoded for the types the server describes."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest

import pgproto
from tests.cluster import Server
from tests.server.loop import Session, connect

UTC = dt.timezone.utc
CASES: list[tuple[str, str, object]] = [
    ("int2", "'-32768'", -32768),
    ("int4", "2147483647", 2147483647),
    ("int8", "'-9223372036854775808'", -9223372036854775808),
    ("float4", "1.5", 1.5),
    ("float8", "'-2.25e100'", -2.25e100),
    ("numeric", "12345678901234567890.000123", decimal.Decimal("12345678901234567890.000123")),
    ("numeric", "'-0.5'", decimal.Decimal("-0.5")),
    ("numeric", "'NaN'", decimal.Decimal("NaN")),
    ("text", "'héllo wörld ✓'", "héllo wörld ✓"),
    ("varchar", "'abc'", "abc"),
    ("name", "'pg_class'", "pg_class"),
    ("bytea", "'\\x00ff10'", b"\x00\xff\x10"),
    ("bool", "true", True),
    ("bool", "false", False),
    ("date", "'2024-02-29'", dt.date(2024, 2, 29)),
    ("date", "'infinity'", dt.date.max),
    ("time", "'13:14:15.123456'", dt.time(13, 14, 15, 123456)),
    ("timestamp", "'2024-01-02 03:04:05.5'", dt.datetime(2024, 1, 2, 3, 4, 5, 500000)),
    ("timestamptz", "'2024-01-02 03:04:05+05:30'", dt.datetime(2024, 1, 1, 21, 34, 5, tzinfo=UTC)),
    ("interval", "'1 day 02:03:04.5'", dt.timedelta(days=1, hours=2, minutes=3, seconds=4.5)),
    ("interval", "'-00:00:01'", dt.timedelta(seconds=-1)),
    ("uuid", "'12345678-1234-5678-1234-567812345678'", uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ("json", "'{\"a\": [1, 2]}'", '{"a": [1, 2]}'),
    ("jsonb", "'{\"a\": [1, 2]}'", '{"a": [1, 2]}'),
    ("int4[]", "'{1,NULL,3}'", [1, None, 3]),
    ("int8[]", "'{{1,2},{3,4}}'", [[1, 2], [3, 4]]),
    ("text[]", "'{\"a b\",\"q\\\"x\",NULL,\"\"}'", ["a b", 'q"x', None, ""]),
    ("int4[]", "'{}'", []),
    ("bool[]", "'{t,f}'", [True, False]),
    ("date[]", "'{2024-01-01}'", [dt.date(2024, 1, 1)]),
    ("numeric[]", "'{1.5,-2}'", [decimal.Decimal("1.5"), decimal.Decimal("-2")]),
    ("uuid[]", "'{12345678-1234-5678-1234-567812345678}'", [uuid.UUID("12345678-1234-5678-1234-567812345678")]),
    ("float8[]", "'{1.5,Infinity}'", [1.5, float("inf")]),
    ("timestamptz[]", "'{\"2024-01-02 03:04:05+00\"}'", [dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)]),
    ("interval[]", "'{\"1 day\"}'", [dt.timedelta(days=1)]),
    ("bytea[]", "'{\"\\\\x00ff\"}'", [b"\x00\xff"]),
]
IDS = [f"{sql_type}:{literal}" for sql_type, literal, _ in CASES]


@pytest.fixture(scope="module")
def session(pg_server: Server) -> object:
    with connect(pg_server) as s:
        # A zone far from UTC proves timestamptz text results are converted, not assumed UTC.
        s.query("SET TimeZone = 'Asia/Kolkata'")
        yield s


def _one_value(session: Session, events: list[pgproto.Event]) -> object:
    failed = [e for e in events if isinstance(e, (pgproto.QueryFailed, pgproto.DecodeFailed))]
    assert not failed, failed
    rows = session.rows(events)
    assert len(rows) == 1 and len(rows[0]) == 1, rows
    return rows[0][0]


@pytest.mark.parametrize(("sql_type", "literal", "expected"), CASES, ids=IDS)
def test_text_result(session: Session, sql_type: str, literal: str, expected: object) -> None:
    value = _one_value(session, session.query(f"SELECT {literal}::{sql_type}"))
    assert value == expected or (value != value and expected != expected)  # NaN


@pytest.mark.parametrize(("sql_type", "literal", "expected"), CASES, ids=IDS)
def test_prepared_result_and_parameter(session: Session, sql_type: str, literal: str, expected: object) -> None:
    client = session.client
    client.prepare("", f"SELECT {literal}::{sql_type}, $1::{sql_type}")
    session.ready()
    client.execute_prepared("", (expected,))
    events = session.ready()
    failed = [e for e in events if isinstance(e, (pgproto.QueryFailed, pgproto.DecodeFailed))]
    assert not failed, failed
    (row,) = session.rows(events)
    for value in row:
        assert value == expected or (value != value and expected != expected)


def test_null_parameter_and_result(session: Session) -> None:
    session.client.prepare("", "SELECT $1::int4")
    session.ready()
    session.client.execute_prepared("", (None,))
    assert session.rows(session.ready()) == [(None,)]


def test_wrong_argument_type_is_a_data_error_and_the_session_goes_on(session: Session) -> None:
    session.client.prepare("", "SELECT $1::int4")
    session.ready()
    with pytest.raises(pgproto.ArgumentError, match=r"argument \$1"):
        session.client.execute_prepared("", ("not a number",))
    with pytest.raises(pgproto.InterfaceError, match="expects 1 argument, got 2"):
        session.client.execute_prepared("", (1, 2))
    session.client.execute_prepared("", (7,))
    assert session.rows(session.ready()) == [(7,)]


def test_out_of_range_value_is_decode_failed_and_the_session_goes_on(session: Session) -> None:
    events = session.query("SELECT '0044-03-15 BC'::date")
    assert any(isinstance(e, pgproto.DecodeFailed) for e in events)
    assert any(isinstance(e, pgproto.QueryComplete) for e in events)
    assert session.rows(session.query("SELECT 1")) == [(1,)]
