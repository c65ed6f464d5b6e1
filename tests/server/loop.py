"""A tiny blocking loop that drives `pgproto.Client` over a real socket, for the core's server tests.

Not a driver: it only moves bytes, and every wait has a timeout so a hang fails fast.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pgproto
from tests.cluster import Server

TIMEOUT = 10.0


class Session:
    """One connection: a socket, a Client, and the events received so far."""

    def __init__(self, server: Server, user: str, password: str | None = None, *, unix: bool = False) -> None:
        if unix:
            assert server.socket_dir is not None
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(TIMEOUT)
            self.sock.connect(str(Path(server.socket_dir) / f".s.PGSQL.{server.port}"))
        else:
            self.sock = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
        self.client = pgproto.Client(user=user, database=server.dbname, password=password)
        self.events: list[pgproto.Event] = []

    def until(self, done: Callable[[pgproto.Event], bool], timeout: float = TIMEOUT) -> list[pgproto.Event]:
        """Pump bytes until an event satisfies `done` (or the session ends); the events seen on the way."""
        seen: list[pgproto.Event] = []
        deadline = time.monotonic() + timeout
        while True:
            while (event := self.client.next_event()) is not pgproto.NEED_DATA:
                seen.append(event)
                self.events.append(event)
                if done(event) or isinstance(event, pgproto.Terminated):
                    self.sock.sendall(self.client.data_to_send())
                    return seen
            self.sock.sendall(self.client.data_to_send())
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching event within {timeout} s; saw {seen!r}")
            self.sock.settimeout(remaining)
            self.client.receive_data(self.sock.recv(65536))

    def ready(self) -> list[pgproto.Event]:
        """Events up to and including the next ReadyForQuery."""
        return self.until(lambda e: isinstance(e, pgproto.ReadyForQuery))

    def query(self, text: str) -> list[pgproto.Event]:
        """Run a simple query; its events up to ReadyForQuery."""
        self.client.query(text)
        return self.ready()

    def rows(self, events: list[pgproto.Event]) -> list[tuple[object, ...]]:
        """All rows in `events`."""
        return [row for e in events if isinstance(e, pgproto.Rows) for row in e.rows]

    def close(self) -> None:
        if not self.client.is_closed:
            self.client.terminate()
            with contextlib.suppress(OSError):  # the server may be gone already
                self.sock.sendall(self.client.data_to_send())
        self.sock.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(server: Server, user: str = "postgres", *, unix: bool = False) -> Session:
    """A session that finished startup (asserting it did)."""
    session = Session(server, user, server.users.get(user), unix=unix)
    events = session.ready()
    assert any(isinstance(e, pgproto.Authenticated) for e in events), events
    return session
