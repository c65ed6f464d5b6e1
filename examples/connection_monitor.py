"""A termination listener that notices a lost connection, reconnects with backoff and re-listens.

    python -m examples.connection_monitor [DSN] [--trio]

LISTEN lives in a server session: when the session ends (``pg_terminate_backend``, a server restart,
a network failure) the listeners go with it. A termination listener fires once when that happens
(never for our own ``close()``), and ``conn.termination_reason`` tells why. The ConnectionMonitor
here reconnects with an exponential backoff and registers its channel listeners again; the example
kills its backend from a second connection and proves that notifications flow again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio

import pgproto_anyio

from ._runner import ExampleFailed, check, deadline, run

CHANNEL = "connection_monitor_heartbeat"
Listener = Callable[[str, str], Any]


class ConnectionMonitor:
    """Keeps one listening connection alive across connection losses."""

    def __init__(self, dsn: str | None, *, first_delay: float = 0.1, max_delay: float = 2.0, attempts: int = 6):
        self._dsn = dsn
        self._first_delay, self._max_delay, self._attempts = first_delay, max_delay, attempts
        self._listeners: list[tuple[str, Listener]] = []
        self._conn: pgproto_anyio.Connection | None = None
        self._lost = anyio.Event()
        self._reconnected = anyio.Event()
        self._closing = False
        self.reconnects = 0

    @property
    def conn(self) -> pgproto_anyio.Connection:
        assert self._conn is not None, "call start() first"
        return self._conn

    async def start(self) -> None:
        """Connect for the first time."""
        self._conn = await self._connect()

    async def add_listener(self, channel: str, callback: Listener) -> None:
        """Listen now, and again on every new connection."""
        self._listeners.append((channel, callback))
        await self.conn.add_listener(channel, callback)

    def next_reconnect(self) -> anyio.Event:
        """An event set when the next reconnection has succeeded."""
        return self._reconnected

    async def supervise(self) -> None:
        """Run in a task for as long as the monitor is used: reconnect after each loss."""
        while True:
            await self._lost.wait()
            self._lost = anyio.Event()
            if not self.conn.is_closed():
                continue  # the alarm came from a connection that failed while reconnecting
            self._conn = await self._reconnect()
            self.reconnects += 1
            self._reconnected.set()
            self._reconnected = anyio.Event()

    async def close(self) -> None:
        self._closing = True
        if self._conn is not None:
            await self._conn.close()

    async def _connect(self) -> pgproto_anyio.Connection:
        conn = await pgproto_anyio.connect(self._dsn)
        conn.add_termination_listener(lambda: self._on_termination(conn))
        try:
            for channel, callback in self._listeners:
                await conn.add_listener(channel, callback)
        except BaseException:
            await conn.close()
            raise
        return conn

    def _on_termination(self, conn: pgproto_anyio.Connection) -> None:
        # A plain function here; `async def` works too. It runs in the connection's reader task.
        reason = conn.termination_reason
        why = f"{reason.severity}: {reason.message} (sqlstate {reason.sqlstate})" if reason else "socket closed"
        print(f"connection lost: {why}")
        if not self._closing:
            self._lost.set()

    async def _reconnect(self) -> pgproto_anyio.Connection:
        delay = self._first_delay
        for attempt in range(1, self._attempts + 1):
            await anyio.sleep(delay)
            try:
                conn = await self._connect()
            except (OSError, TimeoutError, pgproto_anyio.PostgresError, pgproto_anyio.InterfaceError) as exc:
                delay = min(delay * 2, self._max_delay)
                print(f"reconnect attempt {attempt} failed: {exc}; next in {delay:g} s")
                continue
            print(f"reconnect attempt {attempt} after {delay:g} s: ok, backend {conn.get_server_pid()}")
            return conn
        raise ExampleFailed(f"could not reconnect in {self._attempts} attempts")


async def main(dsn: str | None) -> None:
    send, heartbeats = anyio.create_memory_object_stream[str](10)

    def on_heartbeat(channel: str, payload: str) -> None:
        print(f"heartbeat: {payload}")
        send.send_nowait(payload)

    monitor = ConnectionMonitor(dsn)
    await monitor.start()
    try:
        async with pgproto_anyio.connect(dsn) as admin, anyio.create_task_group() as tasks:
            await monitor.add_listener(CHANNEL, on_heartbeat)
            tasks.start_soon(monitor.supervise)

            await admin.execute("SELECT pg_notify($1, 'before the loss')", CHANNEL)
            with deadline(5, "the first heartbeat"):
                check(await heartbeats.receive() == "before the loss", "wrong first heartbeat")

            old = monitor.conn
            reconnected = monitor.next_reconnect()
            print(f"terminating backend {old.get_server_pid()} from another connection")
            await admin.fetchval("SELECT pg_terminate_backend($1)", old.get_server_pid())
            with deadline(10, "the reconnection"):
                await reconnected.wait()

            reason = old.termination_reason
            check(old.is_closed(), "the old connection is not closed")
            check(reason is not None and reason.sqlstate == "57P01", f"termination reason: {reason}")
            try:
                await old.fetchval("SELECT 1")
            except pgproto_anyio.ConnectionDoesNotExistError as exc:
                print(f"the old connection refuses queries: {exc}")
            else:
                raise ExampleFailed("the old connection still ran a query")
            new_pid = monitor.conn.get_server_pid()
            check(new_pid != old.get_server_pid(), "the backend pid did not change")

            await admin.execute("SELECT pg_notify($1, 'after the reconnection')", CHANNEL)
            with deadline(5, "a heartbeat on the new connection"):
                check(await heartbeats.receive() == "after the reconnection", "wrong second heartbeat")
            print(f"notifications flow again on backend {new_pid} after {monitor.reconnects} reconnection")
            tasks.cancel_scope.cancel()
    finally:
        await monitor.close()


if __name__ == "__main__":
    run(main, __doc__)
