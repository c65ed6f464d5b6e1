"""add_listener / remove_listener against a real server: LISTEN/UNLISTEN bookkeeping, channel-name quoting,
ordering of dispatch, failing callbacks, callbacks that query, async callbacks refused, removal of queued
notifications.

The matching file of the anyio driver is tests/anyio/test_listeners.py. What only the sync driver has
(poll(), threads) is in test_poll_and_threads.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

import pgproto
from pgproto_sync import Connection

from .helpers import ident, listening, server_name, wait_until


def test_listen_on_first_callback_unlisten_after_last(conn: Connection, other: Connection) -> None:
    first: list[str] = []
    second: list[str] = []

    def on_first(channel: str, payload: str) -> None:
        first.append(payload)

    def on_second(channel: str, payload: str) -> None:
        second.append(payload)

    assert listening(conn) == set()
    conn.add_listener("books", on_first)
    assert listening(conn) == {"books"}
    conn.add_listener("books", on_second)
    assert listening(conn) == {"books"}

    other.execute("NOTIFY books, 'one'")
    wait_until(conn, lambda: first == ["one"] and second == ["one"])

    conn.remove_listener("books", on_first)
    assert listening(conn) == {"books"}, "one callback is left: the channel stays listened"
    other.execute("NOTIFY books, 'two'")
    wait_until(conn, lambda: second == ["one", "two"])
    assert first == ["one"]

    conn.remove_listener("books", on_second)
    assert listening(conn) == set()
    # A later notification on a listened channel proves that nothing for "books" is still coming.
    marker: list[str] = []
    conn.add_listener("marker", lambda channel, payload: marker.append(payload))
    other.execute("NOTIFY books, 'three'; NOTIFY marker, 'm'")
    wait_until(conn, lambda: marker == ["m"])
    assert first == ["one"]
    assert second == ["one", "two"]


def test_several_callbacks_on_one_channel_run_in_the_order_added(conn: Connection, other: Connection) -> None:
    calls: list[tuple[str, str]] = []

    def recorder(name: str) -> Callable[[str, str], None]:
        def callback(channel: str, payload: str) -> None:
            calls.append((name, payload))

        return callback

    for name in "abc":
        conn.add_listener("several", recorder(name))
    other.execute("SELECT pg_notify('several', g::text) FROM generate_series(1, 3) g")
    wait_until(conn, lambda: len(calls) == 9)
    assert calls == [(name, payload) for payload in "123" for name in "abc"]


def test_one_callback_on_several_channels(conn: Connection, other: Connection) -> None:
    got: list[tuple[str, str]] = []

    def callback(channel: str, payload: str) -> None:
        got.append((channel, payload))

    for channel in ("red", "green", "blue"):
        conn.add_listener(channel, callback)
    assert listening(conn) == {"red", "green", "blue"}
    other.execute("NOTIFY red, '1'; NOTIFY green, '2'; NOTIFY blue, '3'")
    wait_until(conn, lambda: len(got) == 3)
    assert got == [("red", "1"), ("green", "2"), ("blue", "3")], "one thread: the server's order, across channels"

    conn.remove_listener("green", callback)
    assert listening(conn) == {"red", "blue"}
    other.execute("NOTIFY green, 'x'; NOTIFY red, '4'; NOTIFY blue, '5'")
    wait_until(conn, lambda: len(got) == 5)
    assert got[3:] == [("red", "4"), ("blue", "5")]


def test_removing_a_callback_that_was_never_added_is_a_no_op(conn: Connection, other: Connection) -> None:
    got: list[str] = []

    def added(channel: str, payload: str) -> None:
        got.append(payload)

    def never_added(channel: str, payload: str) -> None:
        raise AssertionError("never added, never called")

    conn.remove_listener("nobody", never_added)  # a channel never listened to
    assert listening(conn) == set()

    conn.add_listener("somebody", added)
    conn.remove_listener("somebody", never_added)  # a listened channel, another callback
    assert listening(conn) == {"somebody"}
    conn.remove_listener("somebody", added)
    conn.remove_listener("somebody", added)  # a second removal
    assert listening(conn) == set()

    conn.add_listener("somebody", added)
    other.execute("NOTIFY somebody, 'still works'")
    wait_until(conn, lambda: got == ["still works"])
    assert conn.fetchval("SELECT 1") == 1


def test_adding_the_same_callback_twice_calls_it_once(conn: Connection, other: Connection) -> None:
    got: list[str] = []

    def callback(channel: str, payload: str) -> None:
        got.append(payload)

    conn.add_listener("twice", callback)
    conn.add_listener("twice", callback)
    assert listening(conn) == {"twice"}
    other.execute("NOTIFY twice, 'a'; NOTIFY twice, 'b'")
    wait_until(conn, lambda: len(got) >= 2)
    conn.execute("SELECT 1")  # a duplicate call would have been dispatched by the end of this
    assert got == ["a", "b"]
    # Like a set (as in asyncpg): one removal removes it, and the channel is UNLISTENed.
    conn.remove_listener("twice", callback)
    assert listening(conn) == set()


# -- channel names -----------------------------------------------------------------------------------------

CHANNEL_NAMES = [
    pytest.param('say "hi"', id="double-quotes"),
    pytest.param("with space", id="space"),
    pytest.param('quoted "and" spaced out', id="quotes-and-spaces"),
    pytest.param("semi;colon", id="semicolon"),
    pytest.param("it's", id="single-quote"),
    pytest.param("UpperCase", id="upper-case"),
    pytest.param("lower", id="lower-case"),
    pytest.param("ünïcødé 通知 🐘", id="unicode"),
    pytest.param("x" * 63, id="63-bytes"),
    pytest.param("y" * 100, id="100-bytes"),
    pytest.param("é" * 40, id="80-bytes-multibyte"),  # truncation must not split a character
    pytest.param("back\\slash", id="backslash"),
    pytest.param("$1", id="dollar"),
]


@pytest.mark.parametrize("name", CHANNEL_NAMES)
def test_any_channel_name_postgresql_accepts_works(conn: Connection, other: Connection, name: str) -> None:
    got: list[tuple[str, str]] = []

    def callback(channel: str, payload: str) -> None:
        got.append((channel, payload))

    conn.add_listener(name, callback)
    assert listening(conn) == {server_name(name)}
    # NOTIFY takes an identifier, which the server truncates to 63 bytes like LISTEN's.
    other.execute(f"NOTIFY {ident(name)}, 'payload'")
    wait_until(conn, lambda: got)
    assert got == [(server_name(name), "payload")]
    # Case matters: a differently cased channel is another channel.
    if name != name.swapcase():
        other.execute(f"NOTIFY {ident(name.swapcase())}, 'other case'")
    other.execute(f"NOTIFY {ident(name)}, 'second'")
    wait_until(conn, lambda: len(got) >= 2)
    conn.execute("SELECT 1")
    assert [payload for _, payload in got] == ["payload", "second"]
    conn.remove_listener(name, callback)
    assert listening(conn) == set()


@pytest.mark.parametrize(
    "name",
    ['x"; DROP TABLE victim; --', "x'; DROP TABLE victim; --", 'x" ; DROP TABLE victim ; LISTEN "y'],
)
def test_channel_names_cannot_inject_sql(conn: Connection, other: Connection, name: str) -> None:
    got: list[str] = []

    def callback(channel: str, payload: str) -> None:
        got.append(payload)

    conn.execute("CREATE TEMP TABLE victim (id int)")
    conn.add_listener(name, callback)
    assert listening(conn) == {name}
    assert conn.fetchval("SELECT to_regclass('pg_temp.victim') IS NOT NULL") is True
    other.execute("SELECT pg_notify($1, 'safe')", name)
    wait_until(conn, lambda: got == ["safe"])
    conn.remove_listener(name, callback)
    assert listening(conn) == set()
    assert conn.fetchval("SELECT to_regclass('pg_temp.victim') IS NOT NULL") is True


# -- ordering -----------------------------------------------------------------------------------------------


def test_notifications_arrive_in_order_and_none_is_dropped(conn: Connection, other: Connection) -> None:
    got: dict[str, list[int]] = {"even": [], "odd": []}
    both: list[int] = []

    def callback(channel: str, payload: str) -> None:
        got[channel].append(int(payload))
        both.append(int(payload))

    conn.add_listener("even", callback)
    conn.add_listener("odd", callback)
    other.execute(
        "SELECT pg_notify(CASE WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END, g::text) FROM generate_series(1, 1000) g"
    )
    # And a few more, each in its own transaction.
    for g in range(1001, 1011):
        other.execute("SELECT pg_notify($1, $2)", "even" if g % 2 == 0 else "odd", str(g))
    wait_until(conn, lambda: len(both) >= 1010)
    assert got["even"] == list(range(2, 1011, 2))
    assert got["odd"] == list(range(1, 1011, 2))
    assert both == list(range(1, 1011))


def test_next_notification_waits_for_every_callback_of_the_previous(conn: Connection, other: Connection) -> None:
    """A callback's own query reads what the server sent meanwhile; it is dispatched after, not inside."""
    log: list[str] = []

    def recorder(name: str) -> Callable[[str, str], None]:
        def callback(channel: str, payload: str) -> None:
            log.append(f"{name}-start-{payload}")
            if payload == "1" and name == "a":
                other.execute("NOTIFY serial, 'late'")  # arrives while this callback still runs
            assert conn.fetchval("SELECT $1::text", payload) == payload
            log.append(f"{name}-end-{payload}")

        return callback

    conn.add_listener("serial", recorder("a"))
    conn.add_listener("serial", recorder("b"))
    other.execute("SELECT pg_notify('serial', g::text) FROM generate_series(1, 3) g")
    wait_until(conn, lambda: len(log) == 16)
    expected = []
    for payload in ("1", "2", "3", "late"):
        expected += [f"{name}-{edge}-{payload}" for name in "ab" for edge in ("start", "end")]
    assert log == expected


def test_a_callback_may_run_queries_on_the_same_connection(conn: Connection, other: Connection) -> None:
    results: list[object] = []

    def callback(channel: str, payload: str) -> None:
        results.append(conn.fetchval("SELECT upper($1::text)", payload))
        conn.execute("SELECT 1")
        with conn.transaction():
            conn.execute("SELECT 2")

    conn.add_listener("query_back", callback)
    other.execute("SELECT pg_notify('query_back', p) FROM unnest(ARRAY['a', 'b', 'c']) p")
    wait_until(conn, lambda: len(results) == 3)
    assert results == ["A", "B", "C"]
    assert conn.fetchval("SELECT 7") == 7


# -- failing and refused callbacks ---------------------------------------------------------------------------


def test_a_raising_callback_is_logged_and_the_others_still_run(
    conn: Connection, other: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="pgproto")
    good: list[str] = []
    later: list[str] = []

    def bad_first(channel: str, payload: str) -> None:
        raise RuntimeError(f"first boom {payload}")

    def good_callback(channel: str, payload: str) -> None:
        good.append(payload)

    def bad_second(channel: str, payload: str) -> None:
        raise ValueError(f"second boom {payload}")

    def later_callback(channel: str, payload: str) -> None:
        later.append(payload)

    for callback in (bad_first, good_callback, bad_second, later_callback):
        conn.add_listener("faulty", callback)
    other.execute("NOTIFY faulty, '1'; NOTIFY faulty, '2'")
    other.execute("NOTIFY faulty, '3'")
    wait_until(conn, lambda: later == ["1", "2", "3"])
    assert good == ["1", "2", "3"]
    assert conn.fetchval("SELECT 'usable'") == "usable"

    errors = [
        record
        for record in caplog.records
        if record.name.split(".")[0] == "pgproto" and record.levelno == logging.ERROR
    ]
    raised = [record.exc_info[1] for record in errors if record.exc_info]
    assert sorted(str(exc) for exc in raised) == sorted(
        [f"first boom {n}" for n in "123"] + [f"second boom {n}" for n in "123"]
    )
    assert len(errors) == 6
    assert all(record.exc_info and record.exc_info[2] is not None for record in errors), "with traceback"
    assert "Traceback" in caplog.text


async def _async_channel_callback(channel: str, payload: str) -> None:
    raise AssertionError("never called")


async def _async_plain_callback(*args: object) -> None:
    raise AssertionError("never called")


class _AsyncCallable:
    async def __call__(self, channel: str, payload: str) -> None:
        raise AssertionError("never called")


@pytest.mark.parametrize("callback", [_async_channel_callback, _AsyncCallable()], ids=["function", "callable"])
def test_async_channel_callbacks_are_refused(conn: Connection, callback: Callable[[str, str], object]) -> None:
    with pytest.raises(TypeError, match="async"):
        conn.add_listener("refused", callback)
    assert listening(conn) == set(), "a refused callback LISTENs to nothing"
    assert conn.fetchval("SELECT 1") == 1


def test_async_logger_and_termination_callbacks_are_refused(conn: Connection) -> None:
    with pytest.raises(TypeError, match="async"):
        conn.add_log_listener(_async_plain_callback)
    with pytest.raises(TypeError, match="async"):
        conn.add_termination_listener(_async_plain_callback)
    with pytest.raises(TypeError, match="async"):
        conn.add_query_logger(_async_plain_callback)
    with pytest.raises(TypeError, match="async"), conn.query_logger(_async_plain_callback):
        raise AssertionError("not reached")


# -- removal ------------------------------------------------------------------------------------------------


def test_removing_the_last_callback_inside_a_callback_drops_the_rest_of_the_batch(
    conn: Connection, other: Connection
) -> None:
    got: list[str] = []
    marker: list[str] = []

    def callback(channel: str, payload: str) -> None:
        got.append(payload)
        if payload == "1":
            conn.remove_listener("batch", callback)

    conn.add_listener("batch", callback)
    conn.add_listener("batch_marker", lambda channel, payload: marker.append(payload))
    # One transaction: the server sends all four together, before the UNLISTEN.
    other.execute("BEGIN; NOTIFY batch, '1'; NOTIFY batch, '2'; NOTIFY batch, '3'; NOTIFY batch_marker, 'm'; COMMIT")
    wait_until(conn, lambda: marker == ["m"])
    assert listening(conn) == {"batch_marker"}
    assert got == ["1"]


def test_notifications_read_before_removal_do_not_reach_a_callback_added_later(
    conn: Connection, other: Connection
) -> None:
    old: list[str] = []
    new: list[str] = []
    marker: list[str] = []

    def newcomer(channel: str, payload: str) -> None:
        new.append(payload)

    def leaving(channel: str, payload: str) -> None:
        old.append(payload)
        if payload == "1":
            # '2' is sent now and read by this query, before the UNLISTEN.
            other.execute("NOTIFY again, '2'; NOTIFY again_marker, 'm'")
            conn.execute("SELECT pg_sleep(0.05)")
            conn.remove_listener("again", leaving)
            conn.add_listener("again", newcomer)  # listens again, from now on

    conn.add_listener("again", leaving)
    conn.add_listener("again_marker", lambda channel, payload: marker.append(payload))
    other.execute("NOTIFY again, '1'")
    wait_until(conn, lambda: marker == ["m"])
    other.execute("NOTIFY again, '3'")
    wait_until(conn, lambda: "3" in new)
    assert old == ["1"]
    assert new == ["3"], "'2' was sent before this callback's LISTEN, and its channel had been removed"


def test_a_channel_name_that_is_not_a_str_or_empty_is_refused(conn: Connection) -> None:
    with pytest.raises(pgproto.InterfaceError):
        conn.add_listener("", lambda channel, payload: None)
    with pytest.raises(pgproto.InterfaceError):
        conn.add_listener("nul\0byte", lambda channel, payload: None)
    with pytest.raises(pgproto.InterfaceError):
        conn.add_listener(42, lambda channel, payload: None)  # type: ignore[arg-type]  # the wrong type on purpose
    with pytest.raises(TypeError):
        conn.add_listener("not_callable", "nope")  # type: ignore[arg-type]  # the wrong type on purpose
    assert listening(conn) == set()
