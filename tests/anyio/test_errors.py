"""Server errors: the PostgresError subclass per SQLSTATE, its fields, and a connection that stays usable.

The matching file of the sync driver is tests/sync/test_errors.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

import pgproto
import pgproto_anyio
from pgproto import _sqlstate
from pgproto_anyio import Connection, connect

from .support import TIMEOUT

pytestmark = pytest.mark.anyio


@pytest.fixture
async def conn(dsn: str) -> AsyncIterator[Connection]:
    async with connect(dsn) as connection:
        yield connection


async def _expect_usable(conn: Connection) -> None:
    assert await conn.fetchval("SELECT $1::int + 1", 41) == 42
    assert await conn.execute("SELECT 1") == "SELECT 1"
    assert conn.is_closed() is False


# -- one class per common SQLSTATE ------------------------------------------------------------------------


async def test_unique_violation(conn: Connection) -> None:
    await conn.execute("CREATE TEMP TABLE uniq (id int PRIMARY KEY)")
    await conn.execute("INSERT INTO uniq VALUES (1)")
    with pytest.raises(pgproto_anyio.UniqueViolationError) as info:
        await conn.execute("INSERT INTO uniq VALUES ($1)", 1)
    error = info.value
    assert isinstance(error, pgproto_anyio.IntegrityConstraintViolationError)
    assert isinstance(error, pgproto.PostgresError)
    assert error.sqlstate == "23505"
    assert error.message == 'duplicate key value violates unique constraint "uniq_pkey"'
    assert error.detail == "Key (id)=(1) already exists."
    assert error.hint is None
    assert error.position is None
    assert error.constraint_name == "uniq_pkey"
    assert error.table_name == "uniq"
    await _expect_usable(conn)
    assert await conn.fetchval("SELECT count(*) FROM uniq") == 1


async def test_foreign_key_violation(conn: Connection) -> None:
    await conn.execute(
        "CREATE TEMP TABLE parent (id int PRIMARY KEY); CREATE TEMP TABLE child (parent int REFERENCES parent)"
    )
    with pytest.raises(pgproto_anyio.ForeignKeyViolationError) as info:
        await conn.execute("INSERT INTO child VALUES (7)")
    assert info.value.sqlstate == "23503"
    assert info.value.detail == 'Key (parent)=(7) is not present in table "parent".'
    await _expect_usable(conn)


async def test_not_null_violation(conn: Connection) -> None:
    await conn.execute("CREATE TEMP TABLE strict_table (name text NOT NULL)")
    with pytest.raises(pgproto_anyio.NotNullViolationError) as info:
        await conn.execute("INSERT INTO strict_table VALUES ($1)", None)
    assert info.value.sqlstate == "23502"
    assert info.value.column_name == "name"
    await _expect_usable(conn)


async def test_undefined_table_has_a_position(conn: Connection) -> None:
    with pytest.raises(pgproto_anyio.UndefinedTableError) as info:
        await conn.fetch("SELECT * FROM no_such_table")
    error = info.value
    assert isinstance(error, pgproto_anyio.SyntaxOrAccessError)
    assert error.sqlstate == "42P01"
    assert error.message == 'relation "no_such_table" does not exist'
    assert error.position == "15"  # 1-based character index into the query, as the server sends it
    await _expect_usable(conn)


async def test_undefined_column(conn: Connection) -> None:
    with pytest.raises(pgproto_anyio.UndefinedColumnError) as info:
        await conn.fetchval("SELECT no_such_column FROM pg_class")
    assert info.value.sqlstate == "42703"
    assert info.value.position == "8"
    await _expect_usable(conn)


@pytest.mark.parametrize("args", [(), (1,)], ids=["simple-query", "extended-query"])
async def test_syntax_error(conn: Connection, args: tuple[object, ...]) -> None:
    with pytest.raises(pgproto_anyio.PostgresSyntaxError) as info:
        await conn.execute("SELEC $1", *args)
    assert info.value.sqlstate == "42601"
    assert info.value.message == 'syntax error at or near "SELEC"'
    assert info.value.position == "1"
    await _expect_usable(conn)


async def test_query_canceled_by_statement_timeout(conn: Connection) -> None:
    await conn.execute("SET statement_timeout = '50ms'")
    with pytest.raises(pgproto_anyio.QueryCanceledError) as info:
        await conn.execute("SELECT pg_sleep(30)")
    assert isinstance(info.value, pgproto_anyio.OperatorInterventionError)
    assert info.value.sqlstate == "57014"
    await conn.execute("RESET statement_timeout")
    await _expect_usable(conn)


async def test_serialization_failure(dsn: str) -> None:
    async with connect(dsn) as a, connect(dsn) as b:
        await a.execute("DROP TABLE IF EXISTS ser_test; CREATE TABLE ser_test (id int PRIMARY KEY, n int)")
        try:
            await a.execute("INSERT INTO ser_test VALUES (1, 0)")
            await a.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
            await b.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
            assert await a.fetchval("SELECT n FROM ser_test WHERE id = 1") == 0
            assert await b.fetchval("SELECT n FROM ser_test WHERE id = 1") == 0
            await a.execute("UPDATE ser_test SET n = 1 WHERE id = 1")
            await a.execute("COMMIT")
            with pytest.raises(pgproto_anyio.SerializationError) as info:
                await b.execute("UPDATE ser_test SET n = 2 WHERE id = 1")
            assert isinstance(info.value, pgproto_anyio.TransactionRollbackError)
            assert info.value.sqlstate == "40001"
            with pytest.raises(pgproto_anyio.InFailedSQLTransactionError):
                await b.execute("SELECT 1")
            assert await b.execute("ROLLBACK") == "ROLLBACK"
            await _expect_usable(b)
        finally:
            await a.execute("DROP TABLE IF EXISTS ser_test")


async def test_deadlock_detected(dsn: str) -> None:
    async with connect(dsn) as a, connect(dsn) as b:
        await a.execute("DROP TABLE IF EXISTS dl_test; CREATE TABLE dl_test (id int PRIMARY KEY)")
        try:
            await a.execute("INSERT INTO dl_test VALUES (1), (2)")
            for conn in (a, b):
                await conn.execute("SET deadlock_timeout = '50ms'")
                await conn.execute("BEGIN")
            await a.execute("SELECT * FROM dl_test WHERE id = 1 FOR UPDATE")
            await b.execute("SELECT * FROM dl_test WHERE id = 2 FOR UPDATE")
            outcomes: dict[str, BaseException | None] = {}

            async def lock(name: str, conn: Connection, row: int) -> None:
                try:
                    await conn.execute(f"SELECT * FROM dl_test WHERE id = {row} FOR UPDATE")
                except pgproto.PostgresError as exc:
                    outcomes[name] = exc
                    await conn.execute("ROLLBACK")  # frees the survivor
                else:
                    outcomes[name] = None
                    await conn.execute("COMMIT")

            with anyio.fail_after(TIMEOUT):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(lock, "a", a, 2)
                    tasks.start_soon(lock, "b", b, 1)
            errors = [exc for exc in outcomes.values() if exc is not None]
            assert len(outcomes) == 2 and len(errors) == 1, outcomes
            assert isinstance(errors[0], pgproto_anyio.DeadlockDetectedError)
            assert errors[0].sqlstate == "40P01"
            await _expect_usable(a)
            await _expect_usable(b)
        finally:
            await a.execute("DROP TABLE IF EXISTS dl_test")


async def test_division_by_zero_in_the_middle_of_a_large_result(conn: Connection) -> None:
    with pytest.raises(pgproto_anyio.DivisionByZeroError):
        await conn.fetch("SELECT g, 1 / (g - 50000) FROM generate_series(1, 100000) g")
    await _expect_usable(conn)
    assert len(await conn.fetch("SELECT g FROM generate_series(1, 1000) g")) == 1000


async def test_error_in_the_middle_of_several_statements(conn: Connection) -> None:
    await conn.execute("CREATE TEMP TABLE multi (n int)")
    with pytest.raises(pgproto_anyio.DivisionByZeroError):
        await conn.execute("INSERT INTO multi VALUES (1); SELECT 1 / 0; INSERT INTO multi VALUES (2)")
    # One simple Query is one implicit transaction: the first INSERT is rolled back too.
    assert await conn.fetchval("SELECT count(*) FROM multi") == 0
    await _expect_usable(conn)


# -- fields ------------------------------------------------------------------------------------------------


async def test_every_field_raised_by_plpgsql(conn: Connection) -> None:
    with pytest.raises(pgproto_anyio.CheckViolationError) as info:
        await conn.execute(
            "DO $$ BEGIN RAISE EXCEPTION 'price must be positive' USING ERRCODE = 'check_violation', "
            "DETAIL = 'price was -1', HINT = 'use a price above 0', TABLE = 'items', COLUMN = 'price', "
            "CONSTRAINT = 'items_price_check', SCHEMA = 'public', DATATYPE = 'numeric'; END $$"
        )
    error = info.value
    assert (error.sqlstate, error.message, error.detail, error.hint) == (
        "23514",
        "price must be positive",
        "price was -1",
        "use a price above 0",
    )
    assert error.severity == "ERROR"
    assert (error.schema_name, error.table_name, error.column_name) == ("public", "items", "price")
    assert (error.constraint_name, error.data_type_name) == ("items_price_check", "numeric")
    assert error.position is None
    assert "PL/pgSQL function inline_code_block" in str(error.context)
    # Reads like psql: severity, message and SQLSTATE, then DETAIL and HINT.
    assert str(error) == (
        "ERROR: price must be positive (SQLSTATE 23514)\nDETAIL: price was -1\nHINT: use a price above 0"
    )
    await _expect_usable(conn)


async def test_fields_the_server_did_not_send_are_none(conn: Connection) -> None:
    with pytest.raises(pgproto_anyio.DivisionByZeroError) as info:
        await conn.fetchval("SELECT 1 / 0")
    error = info.value
    assert (error.detail, error.hint, error.position, error.table_name) == (None, None, None, None)
    assert str(error) == "ERROR: division by zero (SQLSTATE 22012)"


# -- unknown codes: the class of their SQLSTATE class ----------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("22Q99", pgproto_anyio.DataError),
        ("23Q99", pgproto_anyio.IntegrityConstraintViolationError),
        ("42Q99", pgproto_anyio.SyntaxOrAccessError),
        ("P0Q99", pgproto_anyio.PLPGSQLError),
        ("QQ123", pgproto_anyio.PostgresError),  # an unknown class too: the base class
    ],
)
async def test_unknown_code_gets_the_class_of_its_sqlstate_class(
    conn: Connection, code: str, expected: type[pgproto.PostgresError]
) -> None:
    with pytest.raises(pgproto_anyio.PostgresError) as info:
        await conn.execute(f"DO $$ BEGIN RAISE EXCEPTION 'custom' USING ERRCODE = '{code}'; END $$")
    assert type(info.value) is expected
    assert info.value.sqlstate == code  # the code the server sent, not the class's
    await _expect_usable(conn)


# -- a connection that stays usable ---------------------------------------------------------------------


async def test_usable_after_an_error_inside_a_failed_transaction(conn: Connection) -> None:
    await conn.execute("CREATE TEMP TABLE kept (n int)")
    await conn.execute("BEGIN")
    await conn.execute("INSERT INTO kept VALUES (1)")
    with pytest.raises(pgproto_anyio.UndefinedTableError):
        await conn.execute("INSERT INTO missing VALUES (1)")
    # Every statement fails until the transaction ends, with its own clear error, on every call.
    with pytest.raises(pgproto_anyio.InFailedSQLTransactionError):
        await conn.fetchval("SELECT $1::int", 1)
    with pytest.raises(pgproto_anyio.InFailedSQLTransactionError):
        await conn.execute("SELECT 1")
    assert await conn.execute("ROLLBACK") == "ROLLBACK"
    assert await conn.fetchval("SELECT count(*) FROM kept") == 0
    await _expect_usable(conn)


async def test_usable_after_an_error_in_a_prepared_statement(conn: Connection) -> None:
    # A failing Execute of a cached statement: the statement stays valid for the next call.
    query = "SELECT 10 / $1::int"
    assert await conn.fetchval(query, 2) == 5
    with pytest.raises(pgproto_anyio.DivisionByZeroError):
        await conn.fetchval(query, 0)
    assert await conn.fetchval(query, 5) == 2


async def test_many_errors_in_a_row(conn: Connection) -> None:
    for n in range(50):
        with pytest.raises(pgproto_anyio.PostgresError):
            await conn.fetchval("SELECT 1 / $1::int", 0) if n % 2 else await conn.execute("SELEC")
    await _expect_usable(conn)


async def test_concurrent_failing_and_succeeding_queries(conn: Connection) -> None:
    results: dict[int, object] = {}

    async def query(i: int) -> None:
        try:
            results[i] = await conn.fetchval("SELECT 100 / $1::int", i % 3)
        except pgproto_anyio.DivisionByZeroError as exc:
            results[i] = exc

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tasks:
            for i in range(30):
                tasks.start_soon(query, i)
    for i, result in results.items():
        if i % 3:
            assert result == 100 // (i % 3)
        else:
            assert isinstance(result, pgproto_anyio.DivisionByZeroError)
    assert len(results) == 30


# -- the classes themselves ---------------------------------------------------------------------------


def test_every_exception_is_reexported_by_the_driver() -> None:
    names = [*_sqlstate.__all__, "PostgresError", "InterfaceError", "ConnectionDoesNotExistError", "ProtocolError"]
    for name in names:
        assert getattr(pgproto_anyio, name) is getattr(pgproto, name), name
    assert issubclass(pgproto_anyio.ConnectionDoesNotExistError, pgproto_anyio.InterfaceError)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("UniqueViolationError", "23505"),
        ("ForeignKeyViolationError", "23503"),
        ("NotNullViolationError", "23502"),
        ("UndefinedTableError", "42P01"),
        ("UndefinedColumnError", "42703"),
        ("PostgresSyntaxError", "42601"),
        ("SerializationError", "40001"),
        ("DeadlockDetectedError", "40P01"),
        ("QueryCanceledError", "57014"),
        ("SyntaxOrAccessError", "42000"),
        ("InvalidPasswordError", "28P01"),
    ],
)
def test_asyncpg_names(name: str, code: str) -> None:
    cls = getattr(pgproto_anyio, name)
    assert issubclass(cls, pgproto.PostgresError)
    assert cls.sqlstate == code
