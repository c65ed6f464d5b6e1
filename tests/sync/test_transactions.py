"""transaction(): commit, rollback on error, nested savepoints, isolation and modes, misuse."""

from __future__ import annotations

import pytest

import pgproto
from pgproto_sync import Connection


@pytest.fixture
def table(conn: Connection) -> str:
    conn.execute("CREATE TEMP TABLE items (x int)")
    return "items"


def _values(conn: Connection) -> list[object]:
    return [r[0] for r in conn.fetch("SELECT x FROM items ORDER BY x")]


def test_commit(conn: Connection, other: Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS sync_tx_commit (x int); TRUNCATE sync_tx_commit")
    try:
        with conn.transaction():
            conn.execute("INSERT INTO sync_tx_commit VALUES (1)")
            assert other.fetchval("SELECT count(*) FROM sync_tx_commit") == 0, "not visible before COMMIT"
        assert other.fetchval("SELECT count(*) FROM sync_tx_commit") == 1
    finally:
        conn.execute("DROP TABLE sync_tx_commit")


def test_rollback_on_error(conn: Connection, table: str) -> None:
    with pytest.raises(RuntimeError), conn.transaction():
        conn.execute("INSERT INTO items VALUES (1)")
        raise RuntimeError("abandon")
    assert _values(conn) == []
    assert conn.fetchval("SELECT pg_current_xact_id_if_assigned() IS NULL") is True, "no transaction left open"


def test_rollback_on_a_server_error_raises_that_error(conn: Connection, table: str) -> None:
    with pytest.raises(pgproto.DivisionByZeroError), conn.transaction():
        conn.execute("INSERT INTO items VALUES (1)")
        conn.execute("SELECT 1 / 0")
    assert _values(conn) == []


def test_nested_blocks_are_savepoints(conn: Connection, table: str) -> None:
    with conn.transaction():
        conn.execute("INSERT INTO items VALUES (1)")
        with pytest.raises(pgproto.UniqueViolationError), conn.transaction():
            conn.execute("INSERT INTO items VALUES (2)")
            conn.execute("CREATE TEMP TABLE u (x int PRIMARY KEY); INSERT INTO u VALUES (1), (1)")
        with conn.transaction():
            conn.execute("INSERT INTO items VALUES (3)")
            with conn.transaction():
                conn.execute("INSERT INTO items VALUES (4)")
    assert _values(conn) == [1, 3, 4]


def test_an_error_in_the_outer_block_undoes_the_released_savepoints(conn: Connection, table: str) -> None:
    with pytest.raises(KeyError), conn.transaction():
        with conn.transaction():
            conn.execute("INSERT INTO items VALUES (1)")
        raise KeyError("outer")
    assert _values(conn) == []


def test_isolation_and_modes(conn: Connection) -> None:
    with conn.transaction(isolation="serializable", readonly=True, deferrable=True):
        assert conn.fetchval("SHOW transaction_isolation") == "serializable"
        assert conn.fetchval("SHOW transaction_read_only") == "on"
        assert conn.fetchval("SHOW transaction_deferrable") == "on"
    with conn.transaction(isolation="repeatable_read"):
        assert conn.fetchval("SHOW transaction_isolation") == "repeatable read"
    with pytest.raises(pgproto.ReadOnlySQLTransactionError), conn.transaction(readonly=True):
        conn.execute("CREATE TEMP TABLE not_allowed (x int)")
    assert conn.fetchval("SHOW transaction_isolation") == "read committed"


def test_misuse(conn: Connection) -> None:
    with pytest.raises(pgproto.InterfaceError, match="isolation"):
        conn.transaction(isolation="chaotic").start()
    with conn.transaction(), pytest.raises(pgproto.InterfaceError, match="nested"):
        conn.transaction(readonly=True).start()
    transaction = conn.transaction()
    transaction.start()
    with pytest.raises(pgproto.InterfaceError, match="already"):
        transaction.start()
    transaction.rollback()
    with pytest.raises(pgproto.InterfaceError, match="not active"):
        transaction.commit()
    assert conn.fetchval("SELECT 1") == 1


def test_manual_start_commit_rollback(conn: Connection, table: str) -> None:
    first = conn.transaction()
    first.start()
    conn.execute("INSERT INTO items VALUES (1)")
    first.commit()
    second = conn.transaction()
    second.start()
    conn.execute("INSERT INTO items VALUES (2)")
    second.rollback()
    assert _values(conn) == [1]
