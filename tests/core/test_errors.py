"""errors: the SQLSTATE class chosen for an ErrorResponse, psql-like rendering, delegation and pickling."""

from __future__ import annotations

import pickle

import pytest

import pgproto
from pgproto import (
    ArgumentError,
    ConnectionDoesNotExistError,
    IntegrityConstraintViolationError,
    InterfaceError,
    PostgresError,
    ProtocolError,
    UniqueViolationError,
)
from pgproto.errors import AuthenticationError
from pgproto.events import Notice

UNIQUE = Notice(
    severity="ERROR",
    severity_nonlocalized="ERROR",
    sqlstate="23505",
    message='duplicate key value violates unique constraint "t_pkey"',
    detail="Key (id)=(1) already exists.",
    hint="Pick another id.",
    position="8",
    schema_name="public",
    table_name="t",
    constraint_name="t_pkey",
)


def test_known_sqlstate_gets_its_class() -> None:
    err = PostgresError.from_notice(UNIQUE)
    assert type(err) is UniqueViolationError
    assert isinstance(err, IntegrityConstraintViolationError)
    assert err.sqlstate == "23505"
    assert UniqueViolationError.sqlstate == "23505"


def test_unknown_code_of_a_known_class_gets_the_class_class() -> None:
    err = PostgresError.from_notice(Notice(severity="ERROR", sqlstate="23999", message="new kind of violation"))
    assert type(err) is IntegrityConstraintViolationError
    assert err.sqlstate == "23999"  # as the server sent it, not the class's 23000
    assert IntegrityConstraintViolationError.sqlstate == "23000"


@pytest.mark.parametrize("sqlstate", ["ZZ999", "ZZ000", None, "", "2"])
def test_unknown_class_gets_postgres_error(sqlstate: str | None) -> None:
    err = PostgresError.from_notice(Notice(severity="ERROR", sqlstate=sqlstate, message="?"))
    assert type(err) is PostgresError
    assert err.sqlstate == sqlstate


def test_named_classes_are_exported() -> None:
    for name in ("UndefinedTableError", "PostgresSyntaxError", "UniqueViolationError", "ForeignKeyViolationError"):
        cls = getattr(pgproto, name)
        assert issubclass(cls, PostgresError)
        assert name in pgproto.__all__
    assert type(PostgresError.from_notice(Notice(sqlstate="42P01"))).__name__ == "UndefinedTableError"
    assert type(PostgresError.from_notice(Notice(sqlstate="42601"))).__name__ == "PostgresSyntaxError"


def test_str_reads_like_psql() -> None:
    assert str(PostgresError.from_notice(UNIQUE)) == (
        'ERROR: duplicate key value violates unique constraint "t_pkey" (SQLSTATE 23505)\n'
        "DETAIL: Key (id)=(1) already exists.\n"
        "HINT: Pick another id."
    )


def test_str_without_detail_and_hint() -> None:
    err = PostgresError.from_notice(
        Notice(severity="FATAL", sqlstate="28P01", message="password authentication failed")
    )
    assert str(err) == "FATAL: password authentication failed (SQLSTATE 28P01)"


def test_str_with_hint_only() -> None:
    err = PostgresError.from_notice(Notice(severity="ERROR", sqlstate="42883", message="no function", hint="Cast."))
    assert str(err) == "ERROR: no function (SQLSTATE 42883)\nHINT: Cast."


def test_str_of_an_empty_notice() -> None:
    assert str(PostgresError(Notice())) == "ERROR: (no message)"


def test_fields_delegate_to_the_notice() -> None:
    err = PostgresError.from_notice(UNIQUE)
    assert err.notice is UNIQUE
    assert err.message == UNIQUE.message
    assert err.detail == "Key (id)=(1) already exists."
    assert err.hint == "Pick another id."
    assert err.position == "8"
    assert err.constraint_name == "t_pkey"
    assert err.context is None
    assert err.severity == "ERROR"


def test_unknown_attribute_raises_attribute_error() -> None:
    err = PostgresError.from_notice(UNIQUE)
    with pytest.raises(AttributeError):
        err.no_such_field  # noqa: B018
    assert not hasattr(err, "no_such_field")


def test_pickling_keeps_class_and_fields() -> None:
    err = PostgresError.from_notice(Notice(severity="ERROR", sqlstate="23999", message="m", detail="d"))
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is IntegrityConstraintViolationError
    assert copy.sqlstate == "23999"
    assert copy.notice == err.notice
    assert copy.detail == "d"
    assert str(copy) == str(err)
    assert copy.args == err.args


def test_pickling_a_named_class() -> None:
    copy = pickle.loads(pickle.dumps(PostgresError.from_notice(UNIQUE)))
    assert type(copy) is UniqueViolationError
    assert copy.notice == UNIQUE


def test_exception_hierarchy() -> None:
    assert issubclass(AuthenticationError, ProtocolError)
    assert issubclass(ConnectionDoesNotExistError, InterfaceError)
    assert issubclass(ArgumentError, InterfaceError)
    assert issubclass(ArgumentError, ValueError)
    assert not issubclass(PostgresError, (ProtocolError, InterfaceError))
