"""What the blocking driver's tests share: waiting with a deadline, and asking the server about a session."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pgproto_sync
from pgproto_sync import Connection

#: How long a test waits for something that should happen at once; only a bug makes it wait that long.
TIMEOUT = 10.0


def wait_until(conn: Connection, predicate: Callable[[], object], timeout: float = TIMEOUT) -> None:
    """Poll `conn` (which runs its callbacks) until `predicate()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"still waiting after {timeout:g} s"
        conn.poll(min(remaining, 0.1))


def listening(conn: Connection) -> set[str]:
    """The channels the server says this session listens to."""
    return {str(row[0]) for row in conn.fetch("SELECT pg_listening_channels()")}


def ident(name: str) -> str:
    """`name` quoted as an SQL identifier (written independently of the driver's own quoting)."""
    return '"' + name.replace('"', '""') + '"'


def server_name(name: str) -> str:
    """The name PostgreSQL gives an identifier: truncated to 63 bytes at a character boundary."""
    return name.encode()[:63].decode("utf-8", "ignore")


def backend_exists(dsn: str, pid: int) -> bool:
    with pgproto_sync.connect(dsn) as other:
        return bool(other.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid))


def wait_backend_gone(dsn: str, pid: int, timeout: float = TIMEOUT) -> None:
    """Ask pg_stat_activity until backend `pid` has exited; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while backend_exists(dsn, pid):
        assert time.monotonic() < deadline, f"backend {pid} still exists after {timeout:g} s"
        time.sleep(0.02)


def terminate_backend(dsn: str, pid: int) -> None:
    """End session `pid` from another connection, as an administrator would (pg_terminate_backend)."""
    with pgproto_sync.connect(dsn) as admin:
        assert admin.fetchval("SELECT pg_terminate_backend($1)", pid) is True


class Worker(threading.Thread):
    """A thread that runs `target` and keeps its exception, to re-raise in `finish()`."""

    def __init__(self, target: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self._target_fn = target
        self.error: BaseException | None = None
        self.result: object = None

    def run(self) -> None:
        try:
            self.result = self._target_fn()
        except BaseException as exc:
            self.error = exc

    def finish(self, timeout: float = TIMEOUT) -> object:
        """Join within `timeout` seconds (fail if still running); raise what the thread raised."""
        self.join(timeout)
        assert not self.is_alive(), f"the thread is still running after {timeout:g} s"
        if self.error is not None:
            raise self.error
        return self.result
