"""Every test here runs on asyncio and on trio (anyio's pytest plugin), against the real server."""

from __future__ import annotations

import pytest

from tests.cluster import Server


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def dsn(pg_server: Server) -> str:
    """A DSN for the superuser of the test server."""
    return pg_server.dsn()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/anyio/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.anyio)
