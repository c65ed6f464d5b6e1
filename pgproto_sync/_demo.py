"""`pgproto demo`: every kind of listener at work on a throwaway (or given) server, printed step by step.

It creates nothing that outlives its sessions (a temporary table and function), so `--dsn` may name a real
server; its notifications go to a channel of its own, never to one an application may listen on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final, TextIO

from pgproto import Notice
from pgproto.errors import ConnectionDoesNotExistError

from . import server
from ._connection import Connection, connect
from .cli import CONNECTION_ERRORS, CommandError, describe

CHANNEL: Final = "pgproto_demo_orders"

#: The orders table and trigger of the "Listeners and Notifications" specification, as temporary objects.
SETUP: Final = f"""CREATE TEMP TABLE orders (
    id serial PRIMARY KEY,
    customer text NOT NULL,
    status text NOT NULL DEFAULT 'new'
);
CREATE FUNCTION pg_temp.orders_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', json_build_object('op', TG_OP, 'id', NEW.id, 'status', NEW.status)::text);
    RETURN NEW;
END
$$;
CREATE TRIGGER orders_notify AFTER INSERT OR UPDATE ON pg_temp.orders
    FOR EACH ROW EXECUTE FUNCTION pg_temp.orders_notify()"""

INSERT: Final = "INSERT INTO pg_temp.orders (customer) VALUES ($1) RETURNING id"
UPDATE: Final = "UPDATE pg_temp.orders SET status = $2 WHERE id = $1"
RAISE: Final = """DO $$
BEGIN
    RAISE NOTICE 'order % is waiting for payment', 2;
    RAISE WARNING 'stock of % is low', 'widgets';
END
$$"""

#: How long the demo waits for something the server should send at once.
WAIT_TIMEOUT: Final = 10.0


class DemoFailed(CommandError):
    """Something the demo shows did not happen."""


class Tour:
    """The demo's listeners: each prints what it received and keeps count."""

    def __init__(self, out: TextIO) -> None:
        """Print to `out`."""
        self._out = out
        self._started = time.monotonic()
        self.notifications: list[str] = []
        self.notices: list[Notice] = []
        self.queries = 0
        self.terminations = 0

    def say(self, text: str) -> None:
        """Print one line, at once (the demo is watched live)."""
        print(text, file=self._out, flush=True)

    def step(self, title: str) -> None:
        """Print a step's title."""
        self.say(f"\n[{time.monotonic() - self._started:5.2f} s] {title}")

    def on_notification(self, channel: str, payload: str) -> None:
        """The notification listener."""
        self.notifications.append(payload)
        self.say(f"    notification listener: channel {channel!r}, payload {payload}")

    def on_notice(self, notice: Notice) -> None:
        """The log listener."""
        self.notices.append(notice)
        self.say(f"    log listener:          {notice.severity}: {notice.message} (SQLSTATE {notice.sqlstate})")

    def on_query(self, query: str, args: tuple[object, ...], duration: float) -> None:
        """The query logger."""
        self.queries += 1
        lines = query.strip().splitlines()
        text = lines[0] + (" ..." if len(lines) > 1 else "")
        shown_args = f"  args={args!r}" if args else ""
        self.say(f"    query logger:          {duration * 1000:8.3f} ms  {text}{shown_args}")

    def on_terminated(self) -> None:
        """The termination listener."""
        self.terminations += 1
        self.say("    termination listener:  the connection is gone")

    def register(self, conn: Connection) -> None:
        """Register every listener on `conn` (the notification listener LISTENs, so it comes last)."""
        conn.add_query_logger(self.on_query)
        conn.add_log_listener(self.on_notice)
        conn.add_termination_listener(self.on_terminated)
        conn.add_listener(CHANNEL, self.on_notification)


def _wait(conn: Connection, done: Callable[[], bool], what: str) -> None:
    """Dispatch what the server sends until `done()`; fail after WAIT_TIMEOUT."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    while not done():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DemoFailed(f"timed out after {WAIT_TIMEOUT:g} s waiting for {what}")
        if conn.is_closed():
            raise DemoFailed(f"the connection was lost while waiting for {what}")
        conn.poll(remaining)


def _tour(dsn: str | None, tour: Tour) -> None:
    tour.step("Connect; register a query logger, a log listener, a termination listener and a notification listener")
    conn = connect(dsn)
    try:
        version = conn.get_settings().get("server_version", "?")
        tour.say(f"    connected to PostgreSQL {version}, backend pid {conn.get_server_pid()}")
        tour.register(conn)

        tour.step("Create a temporary orders table whose trigger calls pg_notify() for every change")
        conn.execute(SETUP)

        tour.step("Insert and update orders: each committed change is a notification")
        alice = conn.fetchval(INSERT, "alice")
        bob = conn.fetchval(INSERT, "bob")
        with conn.transaction():  # both updates are delivered together, at COMMIT
            conn.execute(UPDATE, alice, "paid")
            conn.execute(UPDATE, bob, "paid")
        conn.execute(UPDATE, alice, "shipped")
        _wait(conn, lambda: len(tour.notifications) >= 5, "5 notifications")

        tour.step("Raise a NOTICE and a WARNING in PL/pgSQL")
        conn.execute(RAISE)
        if len(tour.notices) < 2:
            raise DemoFailed(f"expected a NOTICE and a WARNING, the log listener got {len(tour.notices)} notices")

        pid = conn.get_server_pid()
        tour.step(f"Terminate our own backend (pid {pid}) with pg_terminate_backend() from a second connection")
        with connect(dsn) as admin:
            admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        _wait(conn, conn.is_closed, "the termination")
        reason = conn.termination_reason
        if reason is not None:
            tour.say(f"    termination_reason:    {reason.severity}: {reason.message} (SQLSTATE {reason.sqlstate})")
        try:
            conn.execute("SELECT 1")
        except ConnectionDoesNotExistError as exc:
            tour.say(f"    the next query fails:  ConnectionDoesNotExistError: {exc}")
        if tour.terminations != 1:
            raise DemoFailed(f"the termination listener was called {tour.terminations} times, not once")
    finally:
        conn.close()

    tour.step("Reconnect: a new session, so LISTEN and create the temporary table again")
    with connect(dsn) as conn:
        tour.register(conn)
        conn.execute(SETUP)
        conn.fetchval(INSERT, "carol")
        _wait(conn, lambda: len(tour.notifications) >= 6, "the notification of the new session")

    tour.step(
        f"Done: {len(tour.notifications)} notifications, {len(tour.notices)} notices, "
        f"{tour.terminations} termination and {tour.queries} queries logged"
    )


@contextmanager
def _target(dsn: str | None, tour: Tour) -> Iterator[str | None]:
    """Yield `dsn`, or, without one, the DSN of a throwaway server started for the demo (stopped after)."""
    if dsn is not None:
        yield dsn
        return
    installations = server.find_installations()
    if not installations:
        raise DemoFailed(
            f"no PostgreSQL binaries found: {server.HOW_TO_GET_POSTGRES}; or run against a server with --dsn"
        )
    installation = installations[0]
    tour.step(f"Start a throwaway PostgreSQL {installation.version} ({installation.source}: {installation.bindir})")
    cluster = server.Cluster(installation)
    try:
        cluster.start()
    except server.ClusterError as exc:
        first, _, details = str(exc).partition("\n")
        if details:  # the server's log: worth seeing, but the error itself stays one line
            print(details, file=sys.stderr)
        raise DemoFailed(f"could not start PostgreSQL: {first}") from None
    try:
        tour.say(f"    listening on {cluster.host}:{cluster.port}, data in {cluster.data_dir}")
        yield cluster.dsn()
    finally:
        tour.step("Stop the server and delete its files")
        cluster.stop()


def run_demo(dsn: str | None, out: TextIO) -> int:
    """`pgproto demo`: run the tour against `dsn`, or a throwaway server when it is None."""
    tour = Tour(out)
    with _target(dsn, tour) as target:
        try:
            _tour(target, tour)
        except CONNECTION_ERRORS as exc:
            raise DemoFailed(f"the demo failed: {describe(exc)}") from None
    return 0
