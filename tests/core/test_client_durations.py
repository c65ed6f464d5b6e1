"""QueryComplete.duration (and the other timed events) with an injected fake clock."""

from __future__ import annotations

from pgproto import Client
from pgproto import events as ev

from .helpers import (
    BIND_COMPLETE,
    EMPTY_QUERY_RESPONSE,
    INT4,
    PARSE_COMPLETE,
    PORTAL_SUSPENDED,
    Field,
    TickingClock,
    command_complete,
    data_row,
    error_notice,
    error_response,
    events_for,
    feed,
    int4_value,
    list_clock,
    parameter_description,
    ready,
    ready_client,
    row_description,
)

A = Field("a", INT4)


def test_duration_from_queued_to_command_complete() -> None:
    client = ready_client(clock=list_clock([100.0, 100.25]))
    client.query("SELECT 1")  # queued at 100.0
    events = feed(client, row_description(A) + data_row(b"1") + command_complete("SELECT 1") + ready())
    assert events[2] == ev.QueryComplete("SELECT 1", "SELECT 1", (), 0.25)  # processed at 100.25


def test_each_statement_is_timed_from_when_the_query_was_queued() -> None:
    client = ready_client(clock=list_clock([10.0, 11.0, 13.5, 14.0]))
    q = "SELECT 1; ; INSERT"
    client.query(q)
    events = feed(
        client,
        row_description(A) + data_row(b"1") + command_complete("SELECT 1")
        + EMPTY_QUERY_RESPONSE
        + command_complete("INSERT 0 1")
        + ready(),
    )  # fmt: skip
    assert [e for e in events if isinstance(e, ev.QueryComplete)] == [
        ev.QueryComplete("SELECT 1", q, (), 1.0),
        ev.QueryComplete("", q, (), 3.5),
        ev.QueryComplete("INSERT 0 1", q, (), 4.0),
    ]


def test_time_spent_waiting_behind_earlier_queries_counts() -> None:
    client = ready_client(clock=list_clock([0.0, 1.0, 5.0, 7.0]))
    client.query("first")  # 0.0
    client.query("second")  # 1.0
    events = feed(client, command_complete("A") + ready())  # 5.0
    assert events[0] == ev.QueryComplete("A", "first", (), 5.0)
    events = feed(client, command_complete("B") + ready())  # 7.0
    assert events[0] == ev.QueryComplete("B", "second", (), 6.0)


def test_failed_query_duration() -> None:
    client = ready_client(clock=list_clock([2.0, 2.125]))
    client.query("SELECT 1/0")
    events = feed(client, error_response("ERROR", "22012", "division by zero") + ready())
    assert events[0] == ev.QueryFailed(error_notice("ERROR", "22012", "division by zero"), "SELECT 1/0", (), 0.125)


def test_portal_suspended_duration() -> None:
    # prepare reads the clock once for Parse+Describe and once for its Sync; execute_prepared reads it once
    # for Bind, Execute and Sync together.
    client = ready_client(clock=list_clock([0.0, 0.0, 50.0, 50.5]))
    client.prepare("s", "SELECT $1::int4 AS a")
    feed(client, PARSE_COMPLETE + parameter_description(INT4) + row_description(A) + ready())
    client.execute_prepared("s", [1], max_rows=1)  # queued at 50.0
    events = feed(client, BIND_COMPLETE + data_row(int4_value(1)) + PORTAL_SUSPENDED + ready())
    assert ev.PortalSuspended("SELECT $1::int4 AS a", (1,), 0.5) in events


def test_execute_prepared_duration() -> None:
    client = ready_client(clock=list_clock([0.0, 0.0, 20.0, 21.75]))
    client.prepare("s", "SELECT $1::int4 AS a")
    feed(client, PARSE_COMPLETE + parameter_description(INT4) + row_description(A) + ready())
    client.execute_prepared("s", [7])  # Bind+Execute queued at 20.0, Sync at 20.0
    events = feed(client, BIND_COMPLETE + data_row(int4_value(7)) + command_complete("SELECT 1") + ready())
    assert ev.QueryComplete("SELECT 1", "SELECT $1::int4 AS a", (7,), 1.75) in events


def test_durations_do_not_depend_on_the_chunking() -> None:
    # A clock that moves at every reading: the chunking must not change how often it is read.
    def make() -> Client:
        client = ready_client(clock=TickingClock())
        client.query("SELECT 1; SELECT 2")  # 0.0
        client.extended_query("SELECT 3")  # 1.0, Sync 2.0
        client.query("SELECT x")  # 3.0
        return client

    server = (
        row_description(A) + data_row(b"1") + command_complete("SELECT 1")  # 4.0
        + row_description(A) + data_row(b"2") + command_complete("SELECT 1")  # 5.0
        + ready()
        + PARSE_COMPLETE + BIND_COMPLETE + row_description(A) + data_row(b"3") + command_complete("SELECT 1")  # 6.0
        + ready()
        + error_response("ERROR", "42703", "no x")  # 7.0
        + ready()
    )  # fmt: skip
    conversation = events_for(make, server)
    timed = [(e.query, e.duration) for e in conversation.events if isinstance(e, (ev.QueryComplete, ev.QueryFailed))]
    assert timed == [("SELECT 1; SELECT 2", 4.0), ("SELECT 1; SELECT 2", 5.0), ("SELECT 3", 5.0), ("SELECT x", 4.0)]
