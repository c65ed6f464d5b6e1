"""Fixtures of the blocking driver's tests, which run against the real server.

Every test runs under a SIGALRM guard, so a call that blocks forever fails the test instead of hanging the run.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from types import FrameType

import pytest

import pgproto_sync
from tests.cluster import Server

#: Longer than any test needs on a loaded machine; only a hang gets there.
HANG_LIMIT = 90.0


class Hung(Exception):
    """A test blocked for longer than HANG_LIMIT seconds."""


@pytest.fixture(autouse=True)
def hang_guard() -> Iterator[None]:
    """Fail a test that blocks for more than HANG_LIMIT seconds (pytest runs tests in the main thread)."""

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"the test blocked for more than {HANG_LIMIT:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_LIMIT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def dsn(pg_server: Server) -> str:
    """A DSN for the superuser of the test server."""
    return pg_server.dsn()


@pytest.fixture
def conn(dsn: str) -> Iterator[pgproto_sync.Connection]:
    """A connection under test."""
    with pgproto_sync.connect(dsn) as connection:
        yield connection


@pytest.fixture
def other(dsn: str) -> Iterator[pgproto_sync.Connection]:
    """A second connection, to send notifications and watch the first from outside."""
    with pgproto_sync.connect(dsn) as connection:
        yield connection
