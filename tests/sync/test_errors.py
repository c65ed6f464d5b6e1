"""Server errors raise PostgresError subclasses named after their SQLSTATE, with the server's fields, and
leave the connection usable.
"""

from __future__ import annotations

import pytest

import pgproto
import pgproto_sync
from pgproto_sync import Connection


def test_unique_violation_with_detail(conn: Connection) -> None:
    conn.execute("CREATE TEMP TABLE uniq (id int PRIMARY KEY)")
    conn.execute("INSERT INTO uniq VALUES (1)")
    with pytest.raises(pgproto.UniqueViolationError) as info:
        conn.execute("INSERT INTO uniq VALUES ($1)", 1)
    error = info.value
    assert isinstance(error, pgproto.IntegrityConstraintViolationError)
    assert isinstance(error, pgproto.PostgresError)
    assert error.sqlstate == "23505"
    assert "duplicate key" in str(error.message)
    assert error.detail == "Key (id)=(1) already exists."
    assert error.hint is None
    assert "23505" in str(error) and "DETAIL" in str(error)
    assert conn.fetchval("SELECT count(*) FROM uniq") == 1


def test_syntax_error_with_position(conn: Connection) -> None:
    with pytest.raises(pgproto.PostgresSyntaxError) as info:
        conn.execute("SELECT 1 FORM nowhere")  # FORM is read as a column alias
    assert info.value.sqlstate == "42601"
    assert info.value.position == "15"
    assert conn.fetchval("SELECT 1") == 1


def test_undefined_table_and_column(conn: Connection) -> None:
    with pytest.raises(pgproto.UndefinedTableError) as table:
        conn.fetch("SELECT * FROM no_such_table")
    assert table.value.sqlstate == "42P01" and table.value.position == "15"
    with pytest.raises(pgproto.UndefinedColumnError):
        conn.fetchval("SELECT no_such_column FROM pg_class")
    assert conn.fetchval("SELECT 2") == 2


@pytest.mark.parametrize(
    ("sql", "error_class", "sqlstate"),
    [
        ("SELECT 1 / 0", pgproto.DivisionByZeroError, "22012"),
        ("SELECT 'x'::int", pgproto.InvalidTextRepresentationError, "22P02"),
        ("CREATE TEMP TABLE nn (x int NOT NULL); INSERT INTO nn VALUES (NULL)", pgproto.NotNullViolationError, "23502"),
        ("CREATE TEMP TABLE ck (x int CHECK (x > 0)); INSERT INTO ck VALUES (0)", pgproto.CheckViolationError, "23514"),
        (
            "CREATE TEMP TABLE parent (id int PRIMARY KEY); CREATE TEMP TABLE child (p int REFERENCES parent);"
            " INSERT INTO child VALUES (1)",
            pgproto.ForeignKeyViolationError,
            "23503",
        ),
        ("SELECT pg_sleep(1) FROM pg_class LIMIT -1", pgproto.InvalidRowCountInLimitClauseError, "2201W"),
    ],
)
def test_common_errors(conn: Connection, sql: str, error_class: type[pgproto.PostgresError], sqlstate: str) -> None:
    with pytest.raises(error_class) as info:
        conn.execute(sql)
    assert info.value.sqlstate == sqlstate
    assert conn.fetchval("SELECT 'usable'") == "usable"


def test_raise_with_every_field(conn: Connection) -> None:
    with pytest.raises(pgproto.RaiseError) as info:
        conn.execute("DO $$ BEGIN RAISE EXCEPTION 'custom' USING DETAIL = 'd', HINT = 'h'; END $$")
    error = info.value
    assert (error.sqlstate, error.message, error.detail, error.hint) == ("P0001", "custom", "d", "h")
    assert error.position is None
    assert "HINT" in str(error)


def test_an_unknown_code_gets_the_class_of_its_sqlstate_class(conn: Connection) -> None:
    with pytest.raises(pgproto.DataError) as info:
        conn.execute("DO $$ BEGIN RAISE SQLSTATE '22ZZZ'; END $$")
    assert info.value.sqlstate == "22ZZZ"
    assert type(info.value) is pgproto.DataError


def test_errors_are_re_exported_by_the_driver() -> None:
    assert pgproto_sync.PostgresError is pgproto.PostgresError
    assert pgproto_sync.UniqueViolationError is pgproto.UniqueViolationError
    assert pgproto_sync.ConnectionDoesNotExistError is pgproto.ConnectionDoesNotExistError
    assert issubclass(pgproto_sync.ConnectionDoesNotExistError, pgproto_sync.InterfaceError)


def test_error_in_a_transaction_aborts_it_until_rollback(conn: Connection) -> None:
    conn.execute("BEGIN")
    with pytest.raises(pgproto.DivisionByZeroError):
        conn.execute("SELECT 1 / 0")
    with pytest.raises(pgproto.InFailedSQLTransactionError):
        conn.fetchval("SELECT $1::int", 1)
    conn.execute("ROLLBACK")
    assert conn.fetchval("SELECT $1::int", 1) == 1


def test_error_in_the_middle_of_several_statements(conn: Connection) -> None:
    conn.execute("CREATE TEMP TABLE partial (x int)")
    with pytest.raises(pgproto.DivisionByZeroError):
        conn.execute("INSERT INTO partial VALUES (1); SELECT 1 / 0; INSERT INTO partial VALUES (2)")
    # One simple Query is one implicit transaction: none of it stays.
    assert conn.fetchval("SELECT count(*) FROM partial") == 0


def test_error_while_rows_stream(conn: Connection) -> None:
    with pytest.raises(pgproto.DivisionByZeroError):
        conn.fetch("SELECT 1 / (5000 - g) FROM generate_series(1, 10000) g")
    assert conn.fetchval("SELECT 3") == 3
