"""The sans-I/O core against a real PostgreSQL, driven by the tiny loop in `loop.py`."""

from __future__ import annotations

import pytest

import pgproto
from tests.cluster import Server
from tests.server.loop import Session, connect

AUTH_USERS = ["pgproto_trust", "pgproto_password", "pgproto_md5", "pgproto_scram"]


@pytest.mark.parametrize("user", AUTH_USERS)
@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
def test_each_auth_method_logs_in(pg_auth_server: Server, user: str, unix: bool) -> None:
    with connect(pg_auth_server, user, unix=unix) as session:
        events = session.query("SELECT current_user")
        assert session.rows(events) == [(user,)]
        assert session.client.backend_pid is not None
        assert session.client.parameters["client_encoding"] == "UTF8"


@pytest.mark.parametrize("user", ["pgproto_password", "pgproto_md5", "pgproto_scram"])
def test_wrong_password_says_so(pg_auth_server: Server, user: str) -> None:
    with Session(pg_auth_server, user, "not-the-password") as session:
        events = session.ready()
    terminated = events[-1]
    assert isinstance(terminated, pgproto.Terminated)
    assert terminated.reason is not None
    assert terminated.reason.sqlstate == "28P01"
    assert terminated.reason.message == f'password authentication failed for user "{user}"'
    assert session.client.is_closed


def test_missing_password_is_an_authentication_error(pg_auth_server: Server) -> None:
    with Session(pg_auth_server, "pgproto_scram", None) as session, pytest.raises(
        pgproto.AuthenticationError, match="asks for a SCRAM-SHA-256 password"
    ):
        session.ready()


def test_simple_query_with_several_statements(pg_server: Server) -> None:
    with connect(pg_server) as session:
        events = session.query("SELECT 1 AS a, 'x' AS b; SELECT NULL::int4; ; CREATE TEMP TABLE t (a int4)")
        tags = [e.command_tag for e in events if isinstance(e, pgproto.QueryComplete)]
        assert tags == ["SELECT 1", "SELECT 1", "CREATE TABLE"]
        assert session.rows(events) == [(1, "x"), (None,)]
        description = next(e for e in events if isinstance(e, pgproto.RowDescription))
        assert [c.name for c in description.columns] == ["a", "b"]
        assert isinstance(events[-1], pgproto.ReadyForQuery)
        empty = [e for e in session.query("") if isinstance(e, pgproto.QueryComplete)]
        assert [e.command_tag for e in empty] == [""]  # EmptyQueryResponse


def test_error_then_recovery_at_ready_for_query(pg_server: Server) -> None:
    with connect(pg_server) as session:
        events = session.query("SELECT 1; SELECT 1/0; SELECT 3")
        failed = [e for e in events if isinstance(e, pgproto.QueryFailed)]
        assert len(failed) == 1
        assert failed[0].error.sqlstate == "22012"
        assert session.rows(events) == [(1,)]  # the statement after the error is skipped
        assert session.rows(session.query("SELECT 4")) == [(4,)]
        error = pgproto.PostgresError.from_notice(failed[0].error)
        assert isinstance(error, pgproto.DivisionByZeroError)


def test_extended_query_prepared_and_pipelined(pg_server: Server) -> None:
    with connect(pg_server) as session:
        client = session.client
        client.prepare("double", "SELECT $1::int4 * 2 AS d, $2::text AS t")
        events = session.ready()
        prepared = next(e for e in events if isinstance(e, pgproto.StatementPrepared))
        assert prepared.parameter_oids == (23, 25)
        assert [c.name for c in prepared.columns] == ["d", "t"]
        for i in range(5):
            client.execute_prepared("double", (i, f"n{i}"), sync=False)
        client.sync()
        events = session.ready()
        assert session.rows(events) == [(2 * i, f"n{i}") for i in range(5)]
        assert sum(isinstance(e, pgproto.QueryComplete) for e in events) == 5

        client.extended_query("SELECT $1::int8 + 1, $2::text", (41, "hé"))
        assert session.rows(session.ready()) == [(42, "hé")]

        client.close_statement("double")
        assert any(isinstance(e, pgproto.StatementClosed) for e in session.ready())
        assert client.statement("double") is None


def test_error_in_pipeline_skips_to_sync(pg_server: Server) -> None:
    with connect(pg_server) as session:
        client = session.client
        client.prepare("div", "SELECT 10 / $1::int4")
        session.ready()
        for value in (2, 0, 5):
            client.execute_prepared("div", (value,), sync=False)
        client.sync()
        events = session.ready()
        assert session.rows(events) == [(5,)]
        failed = [e for e in events if isinstance(e, pgproto.QueryFailed)]
        assert [f.error.sqlstate for f in failed] == ["22012"]
        assert failed[0].args == (0,)
        client.execute_prepared("div", (5,))
        assert session.rows(session.ready()) == [(2,)]


def test_notification_from_another_session(pg_server: Server) -> None:
    with connect(pg_server) as listener, connect(pg_server) as sender:
        listener.query('LISTEN "my channel"')
        sender.query("NOTIFY \"my channel\", 'héllo'")
        sender.query("SELECT pg_notify('my channel', repeat('x', 7999))")
        first = listener.until(lambda e: isinstance(e, pgproto.Notification))[-1]
        assert first == pgproto.Notification(sender.client.backend_pid or 0, "my channel", "héllo")
        second = listener.until(lambda e: isinstance(e, pgproto.Notification))[-1]
        assert isinstance(second, pgproto.Notification)
        assert second.payload == "x" * 7999


def test_notification_in_the_middle_of_a_result(pg_server: Server) -> None:
    with connect(pg_server) as session:
        session.query("LISTEN mid")
        events = session.query(
            "SELECT g, CASE WHEN g = 3 THEN pg_notify('mid', 'at 3')::text END FROM generate_series(1, 5) g"
        )
        # The server sends a notification after the command completes, within the same request.
        kinds = [type(e).__name__ for e in events]
        assert "Notification" in kinds
        assert [r[0] for r in session.rows(events)] == [1, 2, 3, 4, 5]


def test_raise_notice_arrives_with_its_fields(pg_server: Server) -> None:
    with connect(pg_server) as session:
        events = session.query(
            "DO $$ BEGIN RAISE WARNING 'careful %', 42 USING DETAIL = 'the detail', HINT = 'the hint', "
            "ERRCODE = '01000'; END $$"
        )
        notices = [e for e in events if isinstance(e, pgproto.Notice)]
        assert len(notices) == 1
        notice = notices[0]
        assert (notice.severity, notice.sqlstate, notice.message) == ("WARNING", "01000", "careful 42")
        assert (notice.detail, notice.hint) == ("the detail", "the hint")
        assert notice.context is not None and "PL/pgSQL" in notice.context


def test_pg_terminate_backend_gives_terminated(pg_server: Server) -> None:
    with connect(pg_server) as victim, connect(pg_server) as killer:
        killer.query(f"SELECT pg_terminate_backend({victim.client.backend_pid})")
        events = victim.until(lambda e: False)
        terminated = events[-1]
        assert isinstance(terminated, pgproto.Terminated)
        assert terminated.reason is not None
        assert terminated.reason.sqlstate == "57P01"
        assert victim.client.is_closed
        with pytest.raises(pgproto.ConnectionDoesNotExistError):
            victim.client.query("SELECT 1")
