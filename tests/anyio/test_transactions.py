"""`conn.transaction()`: commit, rollback on error, nested blocks as savepoints, isolation and read-only modes.

The matching file of the sync driver is tests/sync/test_transactions.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

import pgproto_anyio
from pgproto_anyio import Connection, connect

from .support import TIMEOUT, wait_until

pytestmark = pytest.mark.anyio


class Boom(Exception):
    """Raised inside a block to roll it back."""


@pytest.fixture
async def conn(dsn: str) -> AsyncIterator[Connection]:
    async with connect(dsn) as connection:
        await connection.execute("CREATE TEMP TABLE items (n int)")
        yield connection


async def _items(conn: Connection) -> list[object]:
    return [row["n"] for row in await conn.fetch("SELECT n FROM items ORDER BY n")]


async def test_commit(conn: Connection) -> None:
    async with conn.transaction():
        await conn.execute("INSERT INTO items VALUES (1)")
        await conn.execute("INSERT INTO items VALUES ($1)", 2)
    assert await _items(conn) == [1, 2]


async def test_committed_data_is_visible_to_other_sessions_only_after_commit(dsn: str) -> None:
    async with connect(dsn) as a, connect(dsn) as b:
        await a.execute("DROP TABLE IF EXISTS tx_visible; CREATE TABLE tx_visible (n int)")
        try:
            async with a.transaction():
                await a.execute("INSERT INTO tx_visible VALUES (1)")
                assert await b.fetchval("SELECT count(*) FROM tx_visible") == 0
            assert await b.fetchval("SELECT count(*) FROM tx_visible") == 1
        finally:
            await a.execute("DROP TABLE IF EXISTS tx_visible")


async def test_rollback_on_error(conn: Connection) -> None:
    with pytest.raises(Boom):
        async with conn.transaction():
            await conn.execute("INSERT INTO items VALUES (1)")
            raise Boom
    assert await _items(conn) == []
    assert await conn.fetchval("SELECT 1") == 1


async def test_rollback_on_a_server_error(conn: Connection) -> None:
    with pytest.raises(pgproto_anyio.UndefinedTableError):
        async with conn.transaction():
            await conn.execute("INSERT INTO items VALUES (1)")
            await conn.execute("INSERT INTO nowhere VALUES (1)")
    assert await _items(conn) == []
    async with conn.transaction():  # the session is out of the failed transaction
        await conn.execute("INSERT INTO items VALUES (2)")
    assert await _items(conn) == [2]


async def test_a_block_that_swallows_a_server_error_cannot_go_on(conn: Connection) -> None:
    with pytest.raises(pgproto_anyio.InFailedSQLTransactionError):
        async with conn.transaction():
            await conn.execute("INSERT INTO items VALUES (1)")
            with pytest.raises(pgproto_anyio.DivisionByZeroError):
                await conn.execute("SELECT 1 / 0")
            await conn.execute("INSERT INTO items VALUES (2)")
    assert await _items(conn) == []
    assert await conn.fetchval("SELECT 1") == 1


async def test_nested_blocks_are_savepoints(conn: Connection) -> None:
    log: list[str] = []
    conn.add_query_logger(lambda query, args, duration: log.append(query))
    async with conn.transaction():
        await conn.execute("INSERT INTO items VALUES (1)")
        with pytest.raises(Boom):
            async with conn.transaction():
                await conn.execute("INSERT INTO items VALUES (2)")
                raise Boom
        async with conn.transaction():
            await conn.execute("INSERT INTO items VALUES (3)")
            async with conn.transaction():
                await conn.execute("INSERT INTO items VALUES (4)")
        assert await _items(conn) == [1, 3, 4]
    assert await _items(conn) == [1, 3, 4]
    statements = [q for q in log if q.split()[0] in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")]
    assert statements == [
        "BEGIN",
        "SAVEPOINT pgproto_savepoint_1",
        "ROLLBACK TO SAVEPOINT pgproto_savepoint_1",
        "SAVEPOINT pgproto_savepoint_1",
        "SAVEPOINT pgproto_savepoint_2",
        "RELEASE SAVEPOINT pgproto_savepoint_2",
        "RELEASE SAVEPOINT pgproto_savepoint_1",
        "COMMIT",
    ]


async def test_a_nested_block_recovers_from_a_server_error(conn: Connection) -> None:
    async with conn.transaction():
        await conn.execute("INSERT INTO items VALUES (1)")
        with pytest.raises(pgproto_anyio.UniqueViolationError):
            async with conn.transaction():
                await conn.execute("CREATE TEMP TABLE once (id int PRIMARY KEY)")
                await conn.execute("INSERT INTO once VALUES (1), (1)")
        await conn.execute("INSERT INTO items VALUES (2)")  # the outer block goes on
    assert await _items(conn) == [1, 2]
    assert await conn.fetchval("SELECT to_regclass('pg_temp.once')") is None


async def test_an_error_in_the_outer_block_rolls_back_committed_savepoints(conn: Connection) -> None:
    with pytest.raises(Boom):
        async with conn.transaction():
            async with conn.transaction():
                await conn.execute("INSERT INTO items VALUES (1)")
            raise Boom
    assert await _items(conn) == []


@pytest.mark.parametrize(
    ("isolation", "shown"),
    [
        ("serializable", "serializable"),
        ("repeatable_read", "repeatable read"),
        ("read_committed", "read committed"),
        ("read_uncommitted", "read uncommitted"),
        (None, "read committed"),
    ],
)
async def test_isolation(conn: Connection, isolation: str | None, shown: str) -> None:
    async with conn.transaction(isolation=isolation):
        assert await conn.fetchval("SHOW transaction_isolation") == shown
    assert await conn.fetchval("SHOW transaction_isolation") == "read committed"


async def test_readonly(conn: Connection) -> None:
    with pytest.raises(pgproto_anyio.ReadOnlySQLTransactionError):
        async with conn.transaction(readonly=True):
            assert await conn.fetchval("SHOW transaction_read_only") == "on"
            await conn.execute("CREATE TABLE tx_readonly_probe (n int)")  # (temp tables stay writable)
    assert await conn.fetchval("SHOW transaction_read_only") == "off"
    assert await conn.fetchval("SELECT to_regclass('tx_readonly_probe')") is None


async def test_serializable_readonly_deferrable(conn: Connection) -> None:
    async with conn.transaction(isolation="serializable", readonly=True, deferrable=True):
        assert await conn.fetchval("SHOW transaction_isolation") == "serializable"
        assert await conn.fetchval("SHOW transaction_read_only") == "on"
        assert await conn.fetchval("SHOW transaction_deferrable") == "on"


async def test_repeatable_read_sees_a_snapshot(dsn: str) -> None:
    async with connect(dsn) as a, connect(dsn) as b:
        await a.execute("DROP TABLE IF EXISTS tx_snapshot; CREATE TABLE tx_snapshot (n int)")
        try:
            async with a.transaction(isolation="repeatable_read"):
                assert await a.fetchval("SELECT count(*) FROM tx_snapshot") == 0
                await b.execute("INSERT INTO tx_snapshot VALUES (1)")
                assert await a.fetchval("SELECT count(*) FROM tx_snapshot") == 0
            assert await a.fetchval("SELECT count(*) FROM tx_snapshot") == 1
        finally:
            await a.execute("DROP TABLE IF EXISTS tx_snapshot")


async def test_bad_options(conn: Connection) -> None:
    with pytest.raises(pgproto_anyio.InterfaceError, match="unknown isolation level 'snapshot'"):
        async with conn.transaction(isolation="snapshot"):
            pass
    async with conn.transaction():
        with pytest.raises(pgproto_anyio.InterfaceError, match="nested transaction"):
            async with conn.transaction(readonly=True):
                pass
        await conn.execute("INSERT INTO items VALUES (1)")  # the outer block is unharmed
    assert await _items(conn) == [1]


async def test_explicit_start_commit_rollback(conn: Connection) -> None:
    tx = conn.transaction()
    await tx.start()
    await conn.execute("INSERT INTO items VALUES (1)")
    await tx.commit()
    tx = conn.transaction()
    await tx.start()
    await conn.execute("INSERT INTO items VALUES (2)")
    await tx.rollback()
    assert await _items(conn) == [1]
    with pytest.raises(pgproto_anyio.InterfaceError, match="not active"):
        await tx.commit()
    with pytest.raises(pgproto_anyio.InterfaceError, match="already started"):
        tx = conn.transaction()
        await tx.start()
        try:
            await tx.start()
        finally:
            await tx.rollback()


async def test_cancelled_inside_a_block_rolls_back(conn: Connection) -> None:
    with anyio.move_on_after(TIMEOUT) as scope:
        async with conn.transaction():
            await conn.execute("INSERT INTO items VALUES (1)")
            scope.cancel()
            await anyio.sleep(TIMEOUT)
    assert scope.cancelled_caught
    assert await _items(conn) == []
    async with conn.transaction():
        await conn.execute("INSERT INTO items VALUES (2)")
    assert await _items(conn) == [2]


async def test_notifications_are_sent_at_commit_and_not_after_rollback(dsn: str) -> None:
    got: list[str] = []
    async with connect(dsn) as listener, connect(dsn) as conn:
        await listener.add_listener("tx_channel", lambda channel, payload: got.append(payload))
        with pytest.raises(Boom):
            async with conn.transaction():
                await conn.execute("NOTIFY tx_channel, 'rolled back'")
                raise Boom
        async with conn.transaction():
            await conn.execute("NOTIFY tx_channel, 'committed 1'")
            await conn.execute("NOTIFY tx_channel, 'committed 2'")
            await anyio.sleep(0.05)
            assert got == []  # nothing before COMMIT
        await wait_until(lambda: len(got) == 2)
        assert got == ["committed 1", "committed 2"]


async def test_transaction_on_a_closed_connection(dsn: str) -> None:
    conn = await connect(dsn)
    await conn.close()
    with pytest.raises(pgproto_anyio.ConnectionDoesNotExistError):
        async with conn.transaction():
            pass


async def test_connection_lost_inside_a_block_raises_the_loss(dsn: str) -> None:
    async with connect(dsn) as admin:
        conn = await connect(dsn)
        try:
            with pytest.raises(pgproto_anyio.ConnectionDoesNotExistError):
                async with conn.transaction():
                    await admin.fetchval("SELECT pg_terminate_backend($1)", conn.get_server_pid())
                    await wait_until(conn.is_closed)
                    await conn.execute("SELECT 1")
        finally:
            await conn.close()
