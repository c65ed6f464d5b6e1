"""Fixtures of the blocking driver's tests, which run against the real server."""

from __future__ import annotations

import pytest

from tests.cluster import Server


@pytest.fixture
def dsn(pg_server: Server) -> str:
    """A DSN for the superuser of the test server."""
    return pg_server.dsn()
