"""add_listener / remove_listener against a real server: LISTEN/UNLISTEN bookkeeping, channel-name quoting,
ordering and concurrency of dispatch, failing callbacks, removal of queued notifications, backpressure.

The matching file of the sync driver is tests/sync/test_listeners.py.
"""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import Callable

import anyio
import pytest

import pgproto_anyio
from pgproto_anyio import Connection

from .support import MODES, TIMEOUT, Mode, listening, open_conn, wait_until, wait_until_listening

# The anyio marker must be on the module (not added after collection) for the anyio_backend parametrization.
pytestmark = pytest.mark.anyio


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> Mode:
    """Each delivery rule holds for `await connect()` (a background task) and `async with connect()`."""
    return request.param  # type: ignore[no-any-return]  # one of MODES


def ident(name: str) -> str:
    """`name` quoted as an SQL identifier (written independently of the driver's own quoting)."""
    return '"' + name.replace('"', '""') + '"'


def server_name(name: str) -> str:
    """The name PostgreSQL gives an identifier: truncated to 63 bytes at a character boundary."""
    return name.encode()[:63].decode("utf-8", "ignore")


# -- LISTEN / UNLISTEN bookkeeping ---------------------------------------------------------------------


async def test_listen_on_first_callback_unlisten_after_last(dsn: str, mode: Mode) -> None:
    first: list[str] = []
    second: list[str] = []

    def on_first(channel: str, payload: str) -> None:
        first.append(payload)

    def on_second(channel: str, payload: str) -> None:
        second.append(payload)

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        assert await listening(conn) == set()
        await conn.add_listener("books", on_first)
        assert await listening(conn) == {"books"}
        await conn.add_listener("books", on_second)
        assert await listening(conn) == {"books"}

        await other.execute("NOTIFY books, 'one'")
        await wait_until(lambda: first == ["one"] and second == ["one"])

        await conn.remove_listener("books", on_first)
        assert await listening(conn) == {"books"}, "one callback is left: the channel stays listened"
        await other.execute("NOTIFY books, 'two'")
        await wait_until(lambda: second == ["one", "two"])
        assert first == ["one"]

        await conn.remove_listener("books", on_second)
        assert await listening(conn) == set()
        # Nothing arrives any more: a later notification on a listened channel proves the reader went on.
        marker: list[str] = []
        await conn.add_listener("marker", lambda channel, payload: marker.append(payload))
        await other.execute("NOTIFY books, 'three'; NOTIFY marker, 'm'")
        await wait_until(lambda: marker == ["m"])
        assert first == ["one"]
        assert second == ["one", "two"]


async def test_several_callbacks_on_one_channel_run_in_the_order_added(dsn: str, mode: Mode) -> None:
    calls: list[tuple[str, str]] = []

    def a(channel: str, payload: str) -> None:
        calls.append(("a", payload))

    async def b(channel: str, payload: str) -> None:
        calls.append(("b-start", payload))
        await anyio.sleep(0.01)  # c must not start before b has finished
        calls.append(("b-end", payload))

    def c(channel: str, payload: str) -> None:
        calls.append(("c", payload))

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        for callback in (a, b, c):
            await conn.add_listener("several", callback)
        await other.execute("SELECT pg_notify('several', g::text) FROM generate_series(1, 3) g")
        await wait_until(lambda: len(calls) == 12)
        expected = []
        for payload in "123":
            expected += [("a", payload), ("b-start", payload), ("b-end", payload), ("c", payload)]
        assert calls == expected


async def test_one_callback_on_several_channels(dsn: str, mode: Mode) -> None:
    got: list[tuple[str, str]] = []

    def callback(channel: str, payload: str) -> None:
        got.append((channel, payload))

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        for channel in ("red", "green", "blue"):
            await conn.add_listener(channel, callback)
        assert await listening(conn) == {"red", "green", "blue"}
        await other.execute("NOTIFY red, '1'; NOTIFY green, '2'; NOTIFY blue, '3'")
        await wait_until(lambda: len(got) == 3)
        assert sorted(got) == [("blue", "3"), ("green", "2"), ("red", "1")]

        await conn.remove_listener("green", callback)
        assert await listening(conn) == {"red", "blue"}
        await other.execute("NOTIFY green, 'x'; NOTIFY red, '4'; NOTIFY blue, '5'")
        await wait_until(lambda: len(got) == 5)
        assert sorted(got[3:]) == [("blue", "5"), ("red", "4")]


async def test_removing_a_callback_that_was_never_added_is_a_no_op(dsn: str, mode: Mode) -> None:
    got: list[str] = []

    def added(channel: str, payload: str) -> None:
        got.append(payload)

    def never_added(channel: str, payload: str) -> None:
        raise AssertionError("never added, never called")

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        await conn.remove_listener("nobody", never_added)  # a channel never listened to
        assert await listening(conn) == set()

        await conn.add_listener("somebody", added)
        await conn.remove_listener("somebody", never_added)  # a listened channel, another callback
        assert await listening(conn) == {"somebody"}
        await conn.remove_listener("somebody", added)
        await conn.remove_listener("somebody", added)  # a second removal
        assert await listening(conn) == set()

        await conn.add_listener("somebody", added)
        await other.execute("NOTIFY somebody, 'still works'")
        await wait_until(lambda: got == ["still works"])
        assert await conn.fetchval("SELECT 1") == 1


async def test_adding_the_same_callback_twice_calls_it_once(dsn: str, mode: Mode) -> None:
    got: list[str] = []

    def callback(channel: str, payload: str) -> None:
        got.append(payload)

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        await conn.add_listener("twice", callback)
        await conn.add_listener("twice", callback)
        assert await listening(conn) == {"twice"}
        await other.execute("NOTIFY twice, 'a'; NOTIFY twice, 'b'")
        await wait_until(lambda: len(got) >= 2)
        await anyio.sleep(0.05)  # a duplicate call would show up by now
        assert got == ["a", "b"]
        # Like a set (as in asyncpg): one removal removes it, and the channel is UNLISTENed.
        await conn.remove_listener("twice", callback)
        assert await listening(conn) == set()


# -- channel names -----------------------------------------------------------------------------------------

CHANNEL_NAMES = [
    pytest.param('say "hi"', id="double-quotes"),
    pytest.param("with space", id="space"),
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
async def test_any_channel_name_postgresql_accepts_works(dsn: str, name: str) -> None:
    got: list[tuple[str, str]] = []

    def callback(channel: str, payload: str) -> None:
        got.append((channel, payload))

    async with pgproto_anyio.connect(dsn) as conn, pgproto_anyio.connect(dsn) as other:
        await conn.add_listener(name, callback)
        assert await listening(conn) == {server_name(name)}
        # NOTIFY takes an identifier, which the server truncates to 63 bytes like LISTEN's.
        await other.execute(f"NOTIFY {ident(name)}, 'payload'")
        await wait_until(lambda: got)
        assert len(got) == 1
        channel, payload = got[0]
        assert payload == "payload"
        assert channel in (name, server_name(name))
        # Case matters: a differently cased channel is another channel.
        if name != name.swapcase():
            await other.execute(f"NOTIFY {ident(name.swapcase())}, 'other case'")
        await other.execute(f"NOTIFY {ident(name)}, 'second'")
        await wait_until(lambda: len(got) >= 2)
        await anyio.sleep(0.02)
        assert [payload for _, payload in got] == ["payload", "second"]
        await conn.remove_listener(name, callback)
        assert await listening(conn) == set()


@pytest.mark.parametrize(
    "name",
    ['x"; DROP TABLE victim; --', "x'; DROP TABLE victim; --", 'x" ; DROP TABLE victim ; LISTEN "y'],
)
async def test_channel_names_cannot_inject_sql(dsn: str, name: str) -> None:
    got: list[str] = []

    def callback(channel: str, payload: str) -> None:
        got.append(payload)

    async with pgproto_anyio.connect(dsn) as conn, pgproto_anyio.connect(dsn) as other:
        await conn.execute("CREATE TEMP TABLE victim (id int)")
        await conn.add_listener(name, callback)
        assert await listening(conn) == {name}
        assert await conn.fetchval("SELECT to_regclass('pg_temp.victim') IS NOT NULL") is True
        await other.execute("SELECT pg_notify($1, 'safe')", name)
        await wait_until(lambda: got == ["safe"])
        await conn.remove_listener(name, callback)
        assert await listening(conn) == set()
        assert await conn.fetchval("SELECT to_regclass('pg_temp.victim') IS NOT NULL") is True


# -- ordering and concurrency -------------------------------------------------------------------------


async def test_notifications_arrive_in_order_and_none_is_dropped(dsn: str, mode: Mode) -> None:
    got: dict[str, list[int]] = {"even": [], "odd": []}

    def callback(channel: str, payload: str) -> None:
        got[channel].append(int(payload))

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        await conn.add_listener("even", callback)
        await conn.add_listener("odd", callback)
        await other.execute(
            "SELECT pg_notify(CASE WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END, g::text) FROM generate_series(1, 1000) g"
        )
        # And a few more, each in its own transaction.
        for g in range(1001, 1011):
            await other.execute("SELECT pg_notify($1, $2)", "even" if g % 2 == 0 else "odd", str(g))
        await wait_until(lambda: len(got["even"]) + len(got["odd"]) >= 1010)
        assert got["even"] == list(range(2, 1011, 2))
        assert got["odd"] == list(range(1, 1011, 2))


async def test_next_notification_waits_for_every_callback_of_the_previous(dsn: str, mode: Mode) -> None:
    log: list[str] = []

    def recorder(name: str) -> Callable[[str, str], object]:
        async def callback(channel: str, payload: str) -> None:
            log.append(f"{name}-start-{payload}")
            await anyio.sleep(0.01)
            log.append(f"{name}-end-{payload}")

        return callback

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        await conn.add_listener("serial", recorder("a"))
        await conn.add_listener("serial", recorder("b"))
        await other.execute("SELECT pg_notify('serial', g::text) FROM generate_series(1, 5) g")
        await wait_until(lambda: len(log) == 20)
        expected = []
        for payload in "12345":
            expected += [f"{name}-{edge}-{payload}" for name in "ab" for edge in ("start", "end")]
        assert log == expected


async def test_channels_do_not_wait_for_each_other(dsn: str, mode: Mode) -> None:
    release = anyio.Event()
    slow_started: list[str] = []
    slow_finished: list[str] = []
    fast: list[str] = []

    async def slow(channel: str, payload: str) -> None:
        slow_started.append(payload)
        await release.wait()
        slow_finished.append(payload)

    async def quick(channel: str, payload: str) -> None:
        await anyio.sleep(0)
        fast.append(payload)

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        try:
            await conn.add_listener("slow_lane", slow)
            await conn.add_listener("fast_lane", quick)
            await other.execute("NOTIFY slow_lane, 's1'; NOTIFY slow_lane, 's2'; NOTIFY fast_lane, 'f1'")
            await other.execute("NOTIFY fast_lane, 'f2'")
            await wait_until(lambda: fast == ["f1", "f2"])
            assert slow_started == ["s1"]
            assert slow_finished == []
        finally:
            release.set()
        await wait_until(lambda: slow_finished == ["s1", "s2"])
        assert slow_started == ["s1", "s2"]


async def test_a_slow_callback_does_not_delay_queries(dsn: str, mode: Mode) -> None:
    release = anyio.Event()
    started: list[str] = []

    async def slow(channel: str, payload: str) -> None:
        started.append(payload)
        await release.wait()

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        try:
            await conn.add_listener("busy", slow)
            await other.execute("NOTIFY busy, '1'; NOTIFY busy, '2'")
            await wait_until(lambda: started == ["1"])
            with anyio.fail_after(TIMEOUT):
                assert await conn.fetchval("SELECT 40 + $1::int", 2) == 42
                assert [tuple(r) for r in await conn.fetch("SELECT g FROM generate_series(1, 3) g")] == [
                    (1,),
                    (2,),
                    (3,),
                ]
            assert started == ["1"]
        finally:
            release.set()
        await wait_until(lambda: started == ["1", "2"])


async def test_a_slow_callback_does_not_delay_notices_nor_termination(dsn: str, mode: Mode) -> None:
    release = anyio.Event()
    started: list[str] = []
    notices: list[object] = []
    terminated: list[str] = []

    async def slow(channel: str, payload: str) -> None:
        started.append(payload)
        await release.wait()

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        try:
            conn.add_log_listener(lambda notice: notices.append(notice.message))
            conn.add_termination_listener(lambda: terminated.append("fired"))
            await conn.add_listener("stuck", slow)
            await other.execute("NOTIFY stuck, '1'")
            await wait_until(lambda: started == ["1"])
            await conn.execute("DO $$ BEGIN RAISE NOTICE 'still heard'; END $$")
            assert notices == ["still heard"]
            await other.fetchval("SELECT pg_terminate_backend($1)", conn.get_server_pid())
            await wait_until(lambda: terminated)
            assert conn.is_closed()
        finally:
            release.set()
    assert terminated == ["fired"]


async def test_callable_objects_and_bound_methods_as_callbacks(dsn: str, mode: Mode) -> None:
    got: list[str] = []

    class AsyncCallable:
        async def __call__(self, channel: str, payload: str) -> None:
            await anyio.sleep(0)
            got.append(f"object:{payload}")

    class Handler:
        async def on_message(self, channel: str, payload: str) -> None:
            await anyio.sleep(0)
            got.append(f"method:{payload}")

    handler = Handler()
    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        await conn.add_listener("objects", AsyncCallable())
        await conn.add_listener("objects", handler.on_message)
        await other.execute("NOTIFY objects, 'a'; NOTIFY objects, 'b'")
        await wait_until(lambda: len(got) == 4)
        assert got == ["object:a", "method:a", "object:b", "method:b"]
        await conn.remove_listener("objects", handler.on_message)  # an equal bound method removes it
        assert len(conn._session.listeners.channel_callbacks("objects")) == 1


async def test_a_callback_may_run_queries_on_the_same_connection(dsn: str, mode: Mode) -> None:
    results: list[object] = []

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:

        async def callback(channel: str, payload: str) -> None:
            results.append(await conn.fetchval("SELECT upper($1::text)", payload))
            await conn.execute("SELECT 1")

        await conn.add_listener("query_back", callback)
        await other.execute("SELECT pg_notify('query_back', p) FROM unnest(ARRAY['a', 'b', 'c']) p")
        # The application queries the connection too, at the same time.
        for _ in range(5):
            assert await conn.fetchval("SELECT 7") == 7
        await wait_until(lambda: len(results) == 3)
        assert results == ["A", "B", "C"]


# -- failing callbacks ---------------------------------------------------------------------------------


async def test_a_raising_callback_is_logged_and_the_others_still_run(
    dsn: str,
    mode: Mode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="pgproto")
    good: list[str] = []
    later: list[str] = []

    def bad_sync(channel: str, payload: str) -> None:
        raise RuntimeError(f"sync boom {payload}")

    async def bad_async(channel: str, payload: str) -> None:
        await anyio.sleep(0)
        raise ValueError(f"async boom {payload}")

    def good_callback(channel: str, payload: str) -> None:
        good.append(payload)

    async def later_callback(channel: str, payload: str) -> None:
        later.append(payload)

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        for callback in (bad_sync, good_callback, bad_async, later_callback):
            await conn.add_listener("faulty", callback)
        await other.execute("NOTIFY faulty, '1'; NOTIFY faulty, '2'")
        await other.execute("NOTIFY faulty, '3'")
        await wait_until(lambda: later == ["1", "2", "3"])
        assert good == ["1", "2", "3"]
        assert await conn.fetchval("SELECT 'usable'") == "usable"

    errors = [
        record
        for record in caplog.records
        if record.name.split(".")[0] == "pgproto" and record.levelno == logging.ERROR
    ]
    raised = [record.exc_info[1] for record in errors if record.exc_info]
    assert sorted(str(exc) for exc in raised) == sorted(
        [f"sync boom {n}" for n in "123"] + [f"async boom {n}" for n in "123"]
    )
    assert len(errors) == 6
    assert all(record.exc_info and record.exc_info[2] is not None for record in errors), "with traceback"
    assert "Traceback" in caplog.text


# -- removal ------------------------------------------------------------------------------------------------


async def test_removing_the_last_callback_inside_a_callback_drops_the_rest_of_the_batch(dsn: str, mode: Mode) -> None:
    got: list[str] = []
    finished: list[str] = []
    marker: list[str] = []

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:

        async def callback(channel: str, payload: str) -> None:
            got.append(payload)
            if payload == "1":
                await conn.remove_listener("batch", callback)
            finished.append(payload)

        await conn.add_listener("batch", callback)
        await conn.add_listener("batch_marker", lambda channel, payload: marker.append(payload))
        # One transaction: the server sends all four together, before the UNLISTEN.
        await other.execute(
            "BEGIN; NOTIFY batch, '1'; NOTIFY batch, '2'; NOTIFY batch, '3'; NOTIFY batch_marker, 'm'; COMMIT"
        )
        await wait_until(lambda: marker == ["m"] and finished == ["1"])
        assert await listening(conn) == {"batch_marker"}
        await anyio.sleep(0.05)  # a wrongly delivered '2' would show up by now
        assert got == ["1"]


async def test_notifications_queued_when_the_last_callback_goes_are_not_delivered(dsn: str, mode: Mode) -> None:
    release = anyio.Event()
    got: list[str] = []
    marker: list[str] = []

    async def blocking(channel: str, payload: str) -> None:
        got.append(payload)
        if payload == "1":
            await release.wait()

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        try:
            await conn.add_listener("queued", blocking)
            await conn.add_listener("queued_marker", lambda channel, payload: marker.append(payload))
            await other.execute("NOTIFY queued, '1'")
            await wait_until(lambda: got == ["1"])
            # '2' reaches the driver (it precedes the marker) while the callback for '1' still runs.
            await other.execute("NOTIFY queued, '2'; NOTIFY queued_marker, 'm'")
            await wait_until(lambda: marker == ["m"])
            await conn.remove_listener("queued", blocking)
        finally:
            release.set()
        await anyio.sleep(0.05)
        assert got == ["1"]
        assert await listening(conn) == {"queued_marker"}


async def test_notifications_queued_before_removal_do_not_reach_a_callback_added_later(dsn: str, mode: Mode) -> None:
    release = anyio.Event()
    old: list[str] = []
    new: list[str] = []
    marker: list[str] = []

    async def blocking(channel: str, payload: str) -> None:
        old.append(payload)
        if payload == "1":
            await release.wait()

    def newcomer(channel: str, payload: str) -> None:
        new.append(payload)

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        try:
            await conn.add_listener("again", blocking)
            await conn.add_listener("again_marker", lambda channel, payload: marker.append(payload))
            await other.execute("NOTIFY again, '1'")
            await wait_until(lambda: old == ["1"])
            await other.execute("NOTIFY again, '2'; NOTIFY again_marker, 'm'")
            await wait_until(lambda: marker == ["m"])
            await conn.remove_listener("again", blocking)  # '2' was sent and queued: never delivered
            await conn.add_listener("again", newcomer)  # listens again, from now on
        finally:
            release.set()
        await other.execute("NOTIFY again, '3'")
        await wait_until(lambda: "3" in new)
        assert old == ["1"]
        assert new == ["3"], "'2' was sent before this callback's LISTEN, and its channel had been removed"


# -- backpressure ----------------------------------------------------------------------------------------


async def test_backpressure_delivers_everything_in_order_and_queries_still_complete(dsn: str, mode: Mode) -> None:
    gate = anyio.Event()
    got: list[str] = []
    count = 2000
    filler = "p" * 200  # ~450 kB in all: more than one read, more than the socket buffers

    async def slow(channel: str, payload: str) -> None:
        got.append(payload)
        if len(got) == 1:
            await gate.wait()
        else:
            await anyio.sleep(0)

    async with open_conn(dsn, mode, max_pending_notifications=100) as conn, pgproto_anyio.connect(
        dsn
    ) as other:
        try:
            await conn.add_listener("pressure", slow)
            await other.execute(
                f"SELECT pg_notify('pressure', g::text || ':{filler}') FROM generate_series(1, {count}) g"
            )
            await wait_until(lambda: got)
            # The dispatcher is stuck on the first notification and more than 100 wait: the reader pauses,
            # but a query of the application is still answered.
            with anyio.fail_after(5):
                assert await conn.fetchval("SELECT 'answered'") == "answered"
        finally:
            gate.set()
        await wait_until(lambda: len(got) >= count, timeout=30)
        assert got == [f"{g}:{filler}" for g in range(1, count + 1)]
        assert await conn.fetchval("SELECT 1") == 1


# -- delivery while the application does something else ---------------------------------------------


async def test_delivered_while_the_application_sleeps(dsn: str, mode: Mode) -> None:
    plain: list[str] = []
    awaited: list[str] = []

    async def async_callback(channel: str, payload: str) -> None:
        await anyio.sleep(0)
        awaited.append(payload)

    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        await conn.add_listener("idle", lambda channel, payload: plain.append(payload))
        await conn.add_listener("idle", async_callback)
        await other.execute("NOTIFY idle, 'while asleep'")
        # Only anyio.sleep from here on: no call on `conn` gives the driver a chance to read.
        with anyio.fail_after(TIMEOUT):
            while not (plain and awaited):
                await anyio.sleep(0.01)
        assert plain == ["while asleep"]
        assert awaited == ["while asleep"]


async def test_delivered_while_the_application_sleeps_right_after_queries(dsn: str, mode: Mode) -> None:
    # The calling task reads its own answers while the reader task stays parked (issue 6): the reader must
    # read again once the application stops querying, after every round of queries.
    got: list[str] = []
    async with open_conn(dsn, mode) as conn, pgproto_anyio.connect(dsn) as other:
        await conn.add_listener("after_queries", lambda channel, payload: got.append(payload))

        async def queries_then_notify(payload: str) -> None:
            for value in range(20):
                assert await conn.fetchval("SELECT $1::int", value) == value
            await other.execute(f"NOTIFY after_queries, '{payload}'")
            await wait_until(lambda: payload in got)  # anyio.sleep only: the reader reads by itself

        for payload in ("0", "1", "2"):
            await queries_then_notify(payload)
        assert got == ["0", "1", "2"]


async def _listen_and_forget(dsn: str, got: list[str]) -> weakref.ref[Connection]:
    """Open a connection, add listeners, and keep no reference to it (a weak one only, to close it later)."""
    conn = await pgproto_anyio.connect(dsn)

    async def async_callback(channel: str, payload: str) -> None:
        await anyio.sleep(0)
        got.append("async:" + payload)

    await conn.add_listener("orphan", lambda channel, payload: got.append("sync:" + payload))
    await conn.add_listener("orphan", async_callback)
    return weakref.ref(conn)


async def test_a_connection_nobody_references_keeps_its_listeners(dsn: str) -> None:
    got: list[str] = []
    ref = await _listen_and_forget(dsn, got)
    try:
        gc.collect()
        await anyio.sleep(0.01)
        gc.collect()
        async with pgproto_anyio.connect(dsn) as other:
            await other.execute("NOTIFY orphan, 'a'")
            await other.execute("NOTIFY orphan, 'b'")
            await wait_until(lambda: len(got) == 4)
        assert got == ["sync:a", "async:a", "sync:b", "async:b"]
    finally:
        conn = ref()
        assert conn is not None, "the connection was collected while its listeners were registered"
        await conn.close()


# -- cancelled while LISTEN / UNLISTEN are on their way -------------------------------------------------------


async def test_add_listener_cancelled_mid_listen_leaves_no_listen_behind(dsn: str) -> None:
    async with pgproto_anyio.connect(dsn) as conn:
        for attempt in range(20):
            channel = f"half_listened_{attempt}"

            async def add(channel: str = channel) -> None:
                await conn.add_listener(channel, lambda c, p: None)

            with anyio.fail_after(TIMEOUT):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(add)
                    # The callback is registered just before the LISTEN is sent: cancel while it is answered.
                    while channel not in conn._session.listeners.channels:
                        await anyio.sleep(0)
                    tasks.cancel_scope.cancel()
            assert channel not in conn._session.listeners.channels
            assert await listening(conn) == set(), f"attempt {attempt}"


async def test_remove_listener_cancelled_mid_unlisten_leaves_no_listen_behind(dsn: str) -> None:
    async with pgproto_anyio.connect(dsn) as conn:
        for attempt in range(20):
            channel = f"half_unlistened_{attempt}"

            def callback(c: str, p: str) -> None:
                pass

            await conn.add_listener(channel, callback)
            with anyio.fail_after(TIMEOUT):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(conn.remove_listener, channel, callback)
                    while channel in conn._session.listeners.channels:
                        await anyio.sleep(0)
                    tasks.cancel_scope.cancel()
            assert await listening(conn) == set(), f"attempt {attempt}"


async def test_due_unlisten_waits_for_the_end_of_the_transaction(dsn: str) -> None:
    logged: list[str] = []
    async with pgproto_anyio.connect(dsn) as conn, pgproto_anyio.connect(dsn) as other:
        conn.add_query_logger(lambda query, args, duration: logged.append(query))
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tasks:

                async def notify() -> None:
                    await wait_until_listening(conn, "in_tx")
                    await other.execute("NOTIFY in_tx, 'x'")

                tasks.start_soon(notify)
                async for _ in conn.notifications("in_tx"):
                    await conn.execute("BEGIN")
                    break  # the UNLISTEN is due, inside the application's transaction
        with pytest.raises(pgproto_anyio.DivisionByZeroError):
            await conn.execute("SELECT 1 / 0")  # the transaction fails: an UNLISTEN now would fail too
        assert await conn.execute("ROLLBACK") == "ROLLBACK"  # (and would undo an UNLISTEN sent before)
        await wait_until(lambda: 'UNLISTEN "in_tx"' in logged)
        assert await listening(conn) == set()
        assert logged.index('UNLISTEN "in_tx"') > logged.index("ROLLBACK")
