"""Client conversations with the extended query protocol: prepare, execute, pipelines, errors, close."""

from __future__ import annotations

import pytest

from pgproto import NEED_DATA, ArgumentError, Client, InterfaceError, ProtocolError
from pgproto import events as ev
from pgproto._types import result_format

from .helpers import (
    BIND_COMPLETE,
    CLOSE_COMPLETE,
    EMPTY_QUERY_RESPONSE,
    FLUSH,
    INT4,
    INT8,
    NO_DATA,
    PARSE_COMPLETE,
    PORTAL_SUSPENDED,
    SYNC,
    TEXT,
    Field,
    command_complete,
    complete,
    cstr,
    data_row,
    drain,
    error_notice,
    error_response,
    events_for,
    failed,
    feed,
    i16,
    i32,
    int4_value,
    msg,
    notice_response,
    notification,
    parameter_description,
    ready,
    ready_client,
    row_description,
    u32,
)

ADD = "SELECT $1::int4 + $2::int4 AS sum"
SUM = Field("sum", INT4, type_size=4)


# -- client messages, as the server reads them -----------------------------------------------------------


def parse_message(name: str, text: str, oids: tuple[int, ...] = ()) -> bytes:
    return msg(b"P", cstr(name) + cstr(text) + i16(len(oids)) + b"".join(u32(o) for o in oids))


def describe_statement(name: str) -> bytes:
    return msg(b"D", b"S" + cstr(name))


def describe_portal(name: str) -> bytes:
    return msg(b"D", b"P" + cstr(name))


def bind_message(
    statement: str, formats: tuple[int, ...], values: tuple[bytes | None, ...], result_formats: tuple[int, ...]
) -> bytes:
    body = cstr("") + cstr(statement) + i16(len(formats)) + b"".join(i16(f) for f in formats)
    body += i16(len(values)) + b"".join(i32(-1) if v is None else i32(len(v)) + v for v in values)
    body += i16(len(result_formats)) + b"".join(i16(f) for f in result_formats)
    return msg(b"B", body)


def execute_message(max_rows: int = 0) -> bytes:
    return msg(b"E", cstr("") + i32(max_rows))


def close_message(name: str) -> bytes:
    return msg(b"C", b"S" + cstr(name))


PREPARE_ADD = PARSE_COMPLETE + parameter_description(INT4, INT4) + row_description(SUM) + ready()
ADD_PREPARED = ev.StatementPrepared("add", ADD, (INT4, INT4), (SUM.column(result_format(INT4)),))


def prepared(clear: bool = True) -> Client:
    """A ready client on which statement "add" is prepared."""
    client = ready_client()
    client.prepare("add", ADD)
    assert feed(client, PREPARE_ADD) == [ADD_PREPARED, ev.ReadyForQuery("I")]
    if clear:
        client.data_to_send()
    return client


def test_prepare() -> None:
    def make() -> Client:
        client = ready_client()
        client.prepare("add", ADD)
        return client

    conversation = events_for(make, PREPARE_ADD)
    assert conversation.events == [ADD_PREPARED, ev.ReadyForQuery("I")]
    assert conversation.sent == parse_message("add", ADD) + describe_statement("add") + SYNC
    client = conversation.client
    assert client is not None
    assert client.statement("add") == ADD_PREPARED
    assert client.statement("other") is None
    assert client.is_idle


def test_prepare_chooses_each_column_format() -> None:
    # A statement's RowDescription says format 0; the client picks the format it will ask for in Bind.
    columns = (Field("i", INT4), Field("t", TEXT), Field("b", INT8), Field("x", 600))  # 600: point, no codec
    q = "SELECT i, t, b, x FROM t WHERE i = $1 AND t = $2"

    def make() -> Client:
        client = ready_client()
        client.prepare("s", q, [INT4])
        return client

    server = PARSE_COMPLETE + parameter_description(INT4, TEXT) + row_description(*columns) + ready()
    conversation = events_for(make, server)
    assert conversation.events == [
        ev.StatementPrepared("s", q, (INT4, TEXT), tuple(c.column(result_format(c.type_oid)) for c in columns)),
        ev.ReadyForQuery("I"),
    ]
    assert conversation.sent == parse_message("s", q, (INT4,)) + describe_statement("s") + SYNC


def test_prepare_without_result_columns() -> None:
    q = "INSERT INTO t VALUES ($1)"

    def make() -> Client:
        client = ready_client()
        client.prepare("ins", q)
        return client

    conversation = events_for(make, PARSE_COMPLETE + parameter_description(TEXT) + NO_DATA + ready())
    assert conversation.events == [ev.StatementPrepared("ins", q, (TEXT,), ()), ev.ReadyForQuery("I")]


def test_prepare_error() -> None:
    def make() -> Client:
        client = ready_client()
        client.prepare("bad", "SELEC 1")
        return client

    conversation = events_for(make, error_response("ERROR", "42601", "syntax error") + ready())
    assert conversation.events == [
        failed(error_notice("ERROR", "42601", "syntax error"), "SELEC 1"),
        ev.ReadyForQuery("I"),
    ]
    client = conversation.client
    assert client is not None and client.is_idle
    assert client.statement("bad") is None
    with pytest.raises(InterfaceError, match="'bad' is not prepared"):
        client.execute_prepared("bad")


def test_prepare_without_sync_then_flush() -> None:
    client = ready_client()
    client.prepare("add", ADD, sync=False)
    client.flush()
    assert client.data_to_send() == parse_message("add", ADD) + describe_statement("add") + FLUSH
    assert feed(client, PARSE_COMPLETE + parameter_description(INT4, INT4) + row_description(SUM)) == [ADD_PREPARED]
    assert client.statement("add") == ADD_PREPARED
    assert client.is_idle
    client.sync()
    assert client.data_to_send() == SYNC
    assert feed(client, ready()) == [ev.ReadyForQuery("I")]


def test_execute_prepared_with_binary_int4_values() -> None:
    def make() -> Client:
        client = prepared()
        client.execute_prepared("add", [1, 2])
        return client

    server = BIND_COMPLETE + data_row(int4_value(3)) + command_complete("SELECT 1") + ready()
    conversation = events_for(make, server)
    assert conversation.events == [ev.Rows([(3,)]), complete("SELECT 1", ADD, (1, 2)), ev.ReadyForQuery("I")]
    assert conversation.sent == (
        bind_message("add", (1, 1), (b"\0\0\0\1", b"\0\0\0\2"), (result_format(INT4),)) + execute_message() + SYNC
    )


def test_execute_prepared_with_null_and_negative() -> None:
    client = prepared()
    client.execute_prepared("add", [None, -1])
    assert client.data_to_send() == (
        bind_message("add", (1, 1), (None, b"\xff\xff\xff\xff"), (result_format(INT4),)) + execute_message() + SYNC
    )
    events = feed(client, BIND_COMPLETE + data_row(None) + command_complete("SELECT 1") + ready())
    assert events == [ev.Rows([(None,)]), complete("SELECT 1", ADD, (None, -1)), ev.ReadyForQuery("I")]


def test_execute_prepared_refuses_bad_arguments() -> None:
    client = prepared()
    with pytest.raises(InterfaceError, match="expects 2 arguments, got 1"):
        client.execute_prepared("add", [1])
    with pytest.raises(ArgumentError, match=r"\$2"):
        client.execute_prepared("add", [1, 2**40])
    with pytest.raises(ArgumentError, match=r"\$1"):
        client.execute_prepared("add", ["one", 2])
    with pytest.raises(InterfaceError, match="'nope' is not prepared"):
        client.execute_prepared("nope", [])
    with pytest.raises(InterfaceError, match="max_rows out of range"):
        client.execute_prepared("add", [1, 2], max_rows=2**31)
    assert client.data_to_send() == b""
    assert client.is_idle


def test_pipeline_of_executes_before_one_sync() -> None:
    def make() -> Client:
        client = prepared()
        client.execute_prepared("add", [1, 2], sync=False)
        client.execute_prepared("add", [3, 4], sync=False)
        client.execute_prepared("add", [5, 6])
        return client

    server = (
        BIND_COMPLETE + data_row(int4_value(3)) + command_complete("SELECT 1")
        + BIND_COMPLETE + data_row(int4_value(7)) + command_complete("SELECT 1")
        + BIND_COMPLETE + data_row(int4_value(11)) + command_complete("SELECT 1")
        + ready()
    )  # fmt: skip
    conversation = events_for(make, server)
    assert conversation.events == [
        ev.Rows([(3,)]),
        complete("SELECT 1", ADD, (1, 2)),
        ev.Rows([(7,)]),
        complete("SELECT 1", ADD, (3, 4)),
        ev.Rows([(11,)]),
        complete("SELECT 1", ADD, (5, 6)),
        ev.ReadyForQuery("I"),
    ]
    formats = (result_format(INT4),)
    assert conversation.sent == (
        bind_message("add", (1, 1), (i32(1), i32(2)), formats) + execute_message()
        + bind_message("add", (1, 1), (i32(3), i32(4)), formats) + execute_message()
        + bind_message("add", (1, 1), (i32(5), i32(6)), formats) + execute_message()
        + SYNC
    )  # fmt: skip


OVERFLOW = error_notice("ERROR", "22003", "integer out of range")


def test_execute_prepared_many() -> None:
    def make() -> Client:
        client = prepared()
        client.execute_prepared_many("add", [(1, 2), (3, 4)])
        return client

    server = (
        BIND_COMPLETE + command_complete("SELECT 1") + BIND_COMPLETE + data_row(int4_value(7))
        + command_complete("SELECT 1") + ready()
    )  # fmt: skip
    conversation = events_for(make, server)
    # One QueryComplete for the batch, from its last row (the drivers report a batch as one query).
    assert conversation.events == [
        ev.Rows([(7,)]),
        complete("SELECT 1", ADD, (3, 4)),
        ev.ReadyForQuery("I"),
    ]
    formats = (result_format(INT4),)
    assert conversation.sent == (
        bind_message("add", (1, 1), (i32(1), i32(2)), formats) + execute_message()
        + bind_message("add", (1, 1), (i32(3), i32(4)), formats) + execute_message()
        + SYNC
    )  # fmt: skip


def test_error_in_a_batch_names_its_row_and_ends_the_batch() -> None:
    def make() -> Client:
        client = prepared()
        client.execute_prepared_many("add", [(1, 2), (2**31 - 1, 1), (5, 6)])
        return client

    server = (
        BIND_COMPLETE + data_row(int4_value(3)) + command_complete("SELECT 1")
        + BIND_COMPLETE + error_response("ERROR", "22003", "integer out of range") + ready()
    )  # fmt: skip
    conversation = events_for(make, server)
    assert conversation.events == [
        ev.Rows([(3,)]),
        failed(OVERFLOW, ADD, (2**31 - 1, 1)),
        ev.ReadyForQuery("I"),
    ]


def test_a_malformed_tag_in_a_quiet_batch_row_is_still_refused() -> None:
    client = prepared()
    client.execute_prepared_many("add", [(1, 2), (3, 4)])
    client.receive_data(BIND_COMPLETE + b"C\0\0\0\x08SEL" + b"\xff")  # no NUL at the end
    with pytest.raises(ProtocolError):
        while client.next_event() is not NEED_DATA:
            pass


def test_execute_prepared_many_queues_nothing_when_a_row_is_bad() -> None:
    client = prepared()
    with pytest.raises(ArgumentError, match="row 2"):
        client.execute_prepared_many("add", [(1, 2), (3, "four")])
    with pytest.raises(InterfaceError, match="row 1"):
        client.execute_prepared_many("add", [(1,)])
    assert client.data_to_send() == b""
    assert client.is_idle


def test_error_in_the_first_of_a_pipeline_skips_the_rest() -> None:
    def make() -> Client:
        client = prepared()
        client.execute_prepared("add", [2**31 - 1, 1], sync=False)
        client.execute_prepared("add", [3, 4], sync=False)
        client.execute_prepared("add", [5, 6])
        client.execute_prepared("add", [7, 8])  # after the Sync: runs
        return client

    server = (
        BIND_COMPLETE
        + error_response("ERROR", "22003", "integer out of range")
        + ready()
        + BIND_COMPLETE
        + data_row(int4_value(15))
        + command_complete("SELECT 1")
        + ready()
    )
    conversation = events_for(make, server)
    assert conversation.events == [
        failed(OVERFLOW, ADD, (2**31 - 1, 1)),
        ev.ReadyForQuery("I"),
        ev.Rows([(15,)]),
        complete("SELECT 1", ADD, (7, 8)),
        ev.ReadyForQuery("I"),
    ]
    assert conversation.client is not None and conversation.client.is_idle


def test_error_while_binding_in_a_pipeline() -> None:
    def make() -> Client:
        client = prepared()
        client.execute_prepared("add", [1, 2], sync=False)
        client.execute_prepared("add", [3, 4])
        return client

    error = error_response("ERROR", "22P02", "invalid input")
    conversation = events_for(make, error + ready())
    assert conversation.events == [
        failed(error_notice("ERROR", "22P02", "invalid input"), ADD, (1, 2)),
        ev.ReadyForQuery("I"),
    ]


def test_error_before_an_execute_skips_it_up_to_its_own_sync() -> None:
    # execute_prepared's Bind, Execute and Sync are one pending step: an error in the Close before it
    # drops the Close, and the execute's step waits for the ReadyForQuery that answers its Sync.
    def make() -> Client:
        client = prepared()
        client.close_statement("add", sync=False)
        client.execute_prepared("add", [1, 2])
        client.execute_prepared("add", [3, 4])  # after the Sync: runs
        return client

    server = error_response() + ready() + BIND_COMPLETE + data_row(int4_value(7)) + command_complete("SELECT 1")
    conversation = events_for(make, server + ready())
    assert conversation.events == [
        failed(error_notice(), ""),
        ev.ReadyForQuery("I"),
        ev.Rows([(7,)]),
        complete("SELECT 1", ADD, (3, 4)),
        ev.ReadyForQuery("I"),
    ]
    assert conversation.client is not None and conversation.client.is_idle


def test_error_in_a_prepare_pipelined_with_its_execute_forgets_the_statement() -> None:
    client = ready_client()
    client.prepare("s", "SELEC 1", sync=False)
    client.sync()
    events = feed(client, error_response("ERROR", "42601", "syntax error") + ready())
    assert events == [failed(error_notice("ERROR", "42601", "syntax error"), "SELEC 1"), ev.ReadyForQuery("I")]
    assert client.statement("s") is None


def test_notice_during_execute() -> None:
    def make() -> Client:
        client = prepared()
        client.execute_prepared("add", [1, 2])
        return client

    server = (
        BIND_COMPLETE
        + notice_response("WARNING", "01000", "w")
        + data_row(int4_value(3))
        + notice_response("NOTICE", "00000", "n")
        + command_complete("SELECT 1")
        + ready()
    )
    conversation = events_for(make, server)
    assert conversation.events == [
        error_notice("WARNING", "01000", "w"),
        ev.Rows([(3,)]),
        error_notice("NOTICE", "00000", "n"),
        complete("SELECT 1", ADD, (1, 2)),
        ev.ReadyForQuery("I"),
    ]


def test_extended_query_unnamed_statement() -> None:
    q = "SELECT $1::int4 + 1 AS sum"

    def make() -> Client:
        client = ready_client()
        client.extended_query(q, [41])
        return client

    server = (
        PARSE_COMPLETE + BIND_COMPLETE + row_description(SUM) + data_row(b"42") + command_complete("SELECT 1") + ready()
    )
    conversation = events_for(make, server)
    assert conversation.events == [
        ev.RowDescription((SUM.column(),)),
        ev.Rows([(42,)]),
        complete("SELECT 1", q, (41,)),
        ev.ReadyForQuery("I"),
    ]
    assert conversation.sent == (
        parse_message("", q, (INT8,))
        + bind_message("", (0,), (b"41",), (0,))
        + describe_portal("")
        + execute_message()
        + SYNC
    )
    assert conversation.client is not None and conversation.client.statement("") is None


def test_extended_query_without_rows() -> None:
    q = "INSERT INTO t VALUES ($1)"

    def make() -> Client:
        client = ready_client()
        client.extended_query(q, ["x"])
        return client

    conversation = events_for(make, PARSE_COMPLETE + BIND_COMPLETE + NO_DATA + command_complete("INSERT 0 1") + ready())
    assert conversation.events == [complete("INSERT 0 1", q, ("x",)), ev.ReadyForQuery("I")]
    assert conversation.sent == (
        parse_message("", q, (0,))
        + bind_message("", (0,), (b"x",), (0,))
        + describe_portal("")
        + execute_message()
        + SYNC
    )


def test_extended_query_empty() -> None:
    def make() -> Client:
        client = ready_client()
        client.extended_query("")
        return client

    conversation = events_for(make, PARSE_COMPLETE + BIND_COMPLETE + NO_DATA + EMPTY_QUERY_RESPONSE + ready())
    assert conversation.events == [complete("", ""), ev.ReadyForQuery("I")]


def test_extended_query_error_then_the_next_works() -> None:
    def make() -> Client:
        client = ready_client()
        client.extended_query("SELECT nope")
        client.extended_query("SELECT 1 AS sum")
        return client

    server = (
        error_response("ERROR", "42703", 'column "nope" does not exist')
        + ready()
        + PARSE_COMPLETE
        + BIND_COMPLETE
        + row_description(SUM)
        + data_row(b"1")
        + command_complete("SELECT 1")
        + ready()
    )
    conversation = events_for(make, server)
    assert conversation.events == [
        failed(error_notice("ERROR", "42703", 'column "nope" does not exist'), "SELECT nope"),
        ev.ReadyForQuery("I"),
        ev.RowDescription((SUM.column(),)),
        ev.Rows([(1,)]),
        complete("SELECT 1", "SELECT 1 AS sum"),
        ev.ReadyForQuery("I"),
    ]


def test_extended_query_refuses_an_unencodable_argument() -> None:
    client = ready_client()
    with pytest.raises(ArgumentError, match="invalid query argument"):
        client.extended_query("SELECT $1", [object()])
    assert client.data_to_send() == b"" and client.is_idle


def test_close_statement() -> None:
    def make() -> Client:
        client = prepared()
        client.close_statement("add")
        return client

    conversation = events_for(make, CLOSE_COMPLETE + ready())
    assert conversation.events == [ev.StatementClosed("add"), ev.ReadyForQuery("I")]
    assert conversation.sent == close_message("add") + SYNC
    client = conversation.client
    assert client is not None
    assert client.statement("add") is None
    with pytest.raises(InterfaceError, match="not prepared"):
        client.execute_prepared("add", [1, 2])


def test_portal_suspended_with_max_rows() -> None:
    def make() -> Client:
        client = prepared()
        client.execute_prepared("add", [1, 2], max_rows=2)
        return client

    server = BIND_COMPLETE + data_row(int4_value(3)) + data_row(int4_value(4)) + PORTAL_SUSPENDED + ready()
    conversation = events_for(make, server)
    assert conversation.events == [
        ev.Rows([(3,), (4,)]),
        ev.PortalSuspended(ADD, (1, 2), 0.0),
        ev.ReadyForQuery("I"),
    ]
    assert conversation.sent == (
        bind_message("add", (1, 1), (i32(1), i32(2)), (result_format(INT4),)) + execute_message(2) + SYNC
    )


def test_decode_failure_in_an_execute() -> None:
    # The portal's RowDescription says binary, so a 3-byte int4 is a value the decoder must refuse.
    binary = Field("a", INT4, format=1)

    def make() -> Client:
        client = ready_client()
        client.extended_query("SELECT a")
        client.extended_query("SELECT a")
        return client

    server = (
        PARSE_COMPLETE + BIND_COMPLETE + row_description(binary)
        + data_row(b"\0\0\1") + data_row(b"\0\0\0\2") + command_complete("SELECT 2") + ready()
        + PARSE_COMPLETE + BIND_COMPLETE + row_description(binary)
        + data_row(b"\0\0\0\5") + command_complete("SELECT 1") + ready()
    )  # fmt: skip
    conversation = events_for(make, server)
    events = conversation.events
    assert [type(e) for e in events] == [
        ev.RowDescription, ev.DecodeFailed, ev.QueryComplete, ev.ReadyForQuery,
        ev.RowDescription, ev.Rows, ev.QueryComplete, ev.ReadyForQuery,
    ]  # fmt: skip
    assert isinstance(events[1], ev.DecodeFailed)
    assert (events[1].column, events[1].type_oid) == ("a", INT4)
    assert events[2] == complete("SELECT 2", "SELECT a")
    assert events[5] == ev.Rows([(5,)])


def test_requests_are_answered_in_order_across_kinds() -> None:
    def make() -> Client:
        client = prepared()
        client.query("SELECT 1 AS sum")
        client.execute_prepared("add", [1, 1])
        client.close_statement("add")
        return client

    server = (
        row_description(SUM) + data_row(b"1") + command_complete("SELECT 1") + ready()
        + BIND_COMPLETE + data_row(int4_value(2)) + command_complete("SELECT 1") + ready()
        + CLOSE_COMPLETE + ready()
    )  # fmt: skip
    conversation = events_for(make, server)
    assert conversation.events == [
        ev.RowDescription((SUM.column(),)),
        ev.Rows([(1,)]),
        complete("SELECT 1", "SELECT 1 AS sum"),
        ev.ReadyForQuery("I"),
        ev.Rows([(2,)]),
        complete("SELECT 1", ADD, (1, 1)),
        ev.ReadyForQuery("I"),
        ev.StatementClosed("add"),
        ev.ReadyForQuery("I"),
    ]


def test_drain_is_empty_before_the_answer() -> None:
    client = prepared()
    client.execute_prepared("add", [1, 2])
    assert drain(client) == []
    assert not client.is_idle


# -- a prepared execute's whole answer in one pass (Client._answer_in_one_pass) ----------------------------
# `events_for` feeds each answer whole (the one-pass path) and cut in every way (the general path, message by
# message): the conversations must be the same. The cases below are the ones the one-pass path hands over.

ECHO = "SELECT $1::text AS t"
ECHO_FIELD = Field("t", TEXT)


def _echo_client(*texts: str) -> Client:
    client = ready_client()
    client.prepare("echo", ECHO)
    feed(client, PARSE_COMPLETE + parameter_description(TEXT) + row_description(ECHO_FIELD) + ready())
    for text in texts:
        client.execute_prepared("echo", [text])
    client.data_to_send()
    return client


def _echo_answer(*values: bytes, tag: str | None = None, status: bytes = b"I") -> bytes:
    rows = b"".join(data_row(value) for value in values)
    return BIND_COMPLETE + rows + command_complete(tag or f"SELECT {len(values)}") + ready(status)


def test_one_pass_answer_with_many_rows_and_a_transaction_status() -> None:
    server = _echo_answer(b"a", b"b", b"c", status=b"T")
    conversation = events_for(lambda: _echo_client("x"), server)
    assert conversation.events == [
        ev.Rows([("a",), ("b",), ("c",)]), complete("SELECT 3", ECHO, ("x",)), ev.ReadyForQuery("T")
    ]
    # Fed whole, the answer is taken in one pass: after its first event the other two are ready, the request
    # is done, and the buffer is read to its end.
    client = _echo_client("x")
    client.receive_data(server)
    assert client.next_event() == ev.Rows([("a",), ("b",), ("c",)])
    assert len(client._ready) == 2 and client.is_idle and len(client._buffer) == 0


def test_one_pass_answer_without_rows() -> None:
    conversation = events_for(lambda: _echo_client("x"), BIND_COMPLETE + command_complete("SELECT 0") + ready())
    assert conversation.events == [complete("SELECT 0", ECHO, ("x",)), ev.ReadyForQuery("I")]


def test_one_pass_answers_of_a_pipeline_arrive_together() -> None:
    client = _echo_client("x", "y")
    events = feed(client, _echo_answer(b"1") + _echo_answer(b"2", status=b"T"))
    assert events == [
        ev.Rows([("1",)]), complete("SELECT 1", ECHO, ("x",)), ev.ReadyForQuery("I"),
        ev.Rows([("2",)]), complete("SELECT 1", ECHO, ("y",)), ev.ReadyForQuery("T"),
    ]  # fmt: skip
    assert client.is_idle and client.transaction_status == "T"


def test_a_row_whose_value_ends_like_a_ready_for_query_is_still_a_row() -> None:
    # Cut just after that row, the bytes end with what looks like a ReadyForQuery: the one-pass path must
    # not take the row's tail for the end of the answer.
    tricky = b"xyZ\0\0\0\x05I"
    server = _echo_answer(tricky)
    after_row = len(BIND_COMPLETE + data_row(tricky))
    conversation = events_for(lambda: _echo_client("x"), server, [[after_row]])
    expected = [ev.Rows([(tricky.decode(),)]), complete("SELECT 1", ECHO, ("x",)), ev.ReadyForQuery("I")]
    assert conversation.events == expected


def test_one_pass_hands_an_error_to_the_general_path() -> None:
    error = error_response(message="division by zero", sqlstate="22012")
    conversation = events_for(lambda: _echo_client("x"), BIND_COMPLETE + error + ready())
    assert conversation.events == [
        failed(error_notice(message="division by zero", sqlstate="22012"), ECHO, ("x",)), ev.ReadyForQuery("I")
    ]


def test_one_pass_hands_a_row_that_does_not_decode_to_the_general_path() -> None:
    server = BIND_COMPLETE + data_row(b"ok") + data_row(b"\xff") + command_complete("SELECT 2") + ready()
    events = events_for(lambda: _echo_client("x"), server).events
    assert [type(e) for e in events] == [ev.Rows, ev.DecodeFailed, ev.QueryComplete, ev.ReadyForQuery]
    assert events[0] == ev.Rows([("ok",)])


def test_one_pass_hands_a_malformed_answer_to_the_general_path() -> None:
    wrong_width = BIND_COMPLETE + data_row(b"a", b"b") + command_complete("SELECT 1") + ready()
    bad_tag = BIND_COMPLETE + msg(b"C", b"SELECT \xff\0") + ready()
    for server, complaint in ((wrong_width, "2 columns"), (bad_tag, "CommandComplete")):
        client = _echo_client("x")
        with pytest.raises(ProtocolError, match=complaint):
            feed(client, server)


# -- take_answer: a prepared execute's answer without its events (the drivers' fast path) ------------------


def test_take_answer_takes_the_whole_answer_as_its_events_would() -> None:
    client = _echo_client("x", "y")
    client.receive_data(_echo_answer(b"a", b"b", status=b"T") + _echo_answer(tag="SELECT 0"))
    assert client.take_answer() == ([("a",), ("b",)], "SELECT 2")
    assert client.transaction_status == "T" and not client.is_idle
    assert client.take_answer() == ([], "SELECT 0")
    assert client.transaction_status == "I" and client.is_idle
    assert client.take_answer() is None
    assert client.next_event() is NEED_DATA


def test_take_answer_leaves_what_comes_first_to_next_event() -> None:
    # Events parsed ahead (a notification flood) and a request ahead (a simple Query) come first.
    client = _echo_client()
    client.query("SELECT 1")
    client.execute_prepared("echo", ["x"])
    client.data_to_send()
    simple = command_complete("SELECT 0") + ready()
    client.receive_data(notification(7, "ch", "p") + notification(7, "ch", "q") + simple + _echo_answer(b"a"))
    assert client.take_answer() is None  # the simple Query is ahead
    assert client.next_event() == ev.Notification(7, "ch", "p")
    assert client.take_answer() is None  # the second notification, parsed ahead, is ready
    assert client.next_event() == ev.Notification(7, "ch", "q")
    assert client.next_event() == complete("SELECT 0", "SELECT 1", ())
    assert client.next_event() == ev.ReadyForQuery("I")
    assert client.take_answer() == ([("a",)], "SELECT 1")
    assert client.next_event() is NEED_DATA


@pytest.mark.parametrize(
    "server",
    [
        BIND_COMPLETE + data_row(b"a") + command_complete("SELECT 1"),  # still arriving
        BIND_COMPLETE + notice_response() + data_row(b"a") + command_complete("SELECT 1") + ready(),
        BIND_COMPLETE + error_response(message="boom") + ready(),
        BIND_COMPLETE + data_row(b"\xff") + command_complete("SELECT 1") + ready(),  # does not decode
        BIND_COMPLETE + data_row(b"a", b"b") + command_complete("SELECT 1") + ready(),  # malformed
        BIND_COMPLETE + data_row(b"a") + command_complete("SELECT 1") + ready(b"X"),  # unknown status
    ],
    ids=["incomplete", "notice", "error", "undecodable", "wrong-width", "bad-status"],
)
def test_take_answer_hands_the_unusual_to_next_event_with_nothing_taken(server: bytes) -> None:
    client = _echo_client("x")
    client.receive_data(server)
    before = (client._buffer.pos, len(client._pending), client.transaction_status)
    assert client.take_answer() is None
    assert (client._buffer.pos, len(client._pending), client.transaction_status) == before
    try:
        events = drain(client)
    except ProtocolError:
        return  # the general path reports what is malformed
    assert events and not isinstance(events[0], ev.Notification)


def test_take_answer_after_a_protocol_error_raises_it_again() -> None:
    client = _echo_client("x")
    with pytest.raises(ProtocolError):
        feed(client, BIND_COMPLETE + data_row(b"a", b"b") + command_complete("SELECT 1") + ready())
    with pytest.raises(ProtocolError, match="2 columns"):
        client.take_answer()


def test_take_answer_remembers_answer_ends_by_their_bytes() -> None:
    # The second answer's end is looked up, not parsed: the tag and status must still be its own.
    client = _echo_client("x", "y", "z", "w")
    answers = [_echo_answer(b"a"), _echo_answer(b"b"), _echo_answer(b"c", status=b"T"), _echo_answer(tag="SELECT 9")]
    results = []
    for answer in answers:
        client.receive_data(answer)
        results.append((client.take_answer(), client.transaction_status))
    assert results == [
        (([("a",)], "SELECT 1"), "I"),
        (([("b",)], "SELECT 1"), "I"),
        (([("c",)], "SELECT 1"), "T"),
        (([], "SELECT 9"), "I"),
    ]
    assert client.is_idle and client.next_event() is NEED_DATA


def test_take_answer_remembers_a_bounded_number_of_answer_ends() -> None:
    count = 200
    client = _echo_client(*["x"] * count)
    for number in range(count):
        client.receive_data(_echo_answer(tag=f"SELECT {number}"))
        assert client.take_answer() == ([], f"SELECT {number}")
    assert 0 < len(client._answer_ends) <= 64


def test_take_answer_looks_a_remembered_end_up_rather_than_parsing_it() -> None:
    client = _echo_client("x", "y")
    client.receive_data(_echo_answer(b"a"))
    client.take_answer()
    end = command_complete("SELECT 1") + ready()
    assert client._answer_ends == {end: ("SELECT 1", "I")}
    client._answer_ends[end] = ("looked up", "T")  # white-box: what the lookup finds is what it returns
    client.receive_data(_echo_answer(b"b"))
    assert client.take_answer() == ([("b",)], "looked up") and client.transaction_status == "T"
