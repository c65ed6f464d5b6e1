"""Client conversations with the simple query protocol: results, errors, asynchronous messages, the end."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pgproto import NEED_DATA, Client, ConnectionDoesNotExistError, InterfaceError, Phase, ProtocolError
from pgproto import _backend as b
from pgproto import events as ev
from pgproto._backend import MESSAGE_NAMES
from pgproto._buffer import DEFAULT_MAX_MESSAGE_SIZE
from pgproto._types import decoder

from .helpers import (
    EMPTY_QUERY_RESPONSE,
    INT4,
    TERMINATE,
    TEXT,
    Field,
    command_complete,
    complete,
    data_row,
    drain,
    error_notice,
    error_response,
    events_for,
    failed,
    feed,
    i16,
    i32,
    msg,
    notice_response,
    notification,
    parameter_status,
    query_message,
    ready,
    ready_client,
    row_description,
)
from .test_backend import MALFORMED

A = Field("a", INT4, table_oid=16384, column_number=1, type_size=4)
B = Field("b", TEXT, table_oid=16384, column_number=2)


def querying(*texts: str, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> Client:
    """A ready client with these simple queries queued."""
    client = ready_client(max_message_size=max_message_size)
    for text in texts:
        client.query(text)
    return client


def test_select() -> None:
    q = "SELECT a, b FROM t"
    server = (
        row_description(A, B)
        + data_row(b"1", b"one")
        + data_row(b"2", None)
        + data_row(None, b"")
        + command_complete("SELECT 3")
        + ready()
    )
    conversation = events_for(lambda: querying(q), server)
    assert conversation.events == [
        ev.RowDescription((A.column(), B.column())),
        ev.Rows([(1, "one"), (2, None), (None, "")]),
        complete("SELECT 3", q),
        ev.ReadyForQuery("I"),
    ]
    assert conversation.sent == query_message(q)
    assert conversation.client is not None and conversation.client.is_idle


def test_several_statements() -> None:
    q = "SELECT 1 AS a; ; INSERT INTO t VALUES (1); SELECT 'x' AS b, 2 AS a"
    server = (
        row_description(A)
        + data_row(b"1")
        + command_complete("SELECT 1")
        + EMPTY_QUERY_RESPONSE
        + command_complete("INSERT 0 1")
        + row_description(B, A)
        + data_row(b"x", b"2")
        + command_complete("SELECT 1")
        + ready()
    )
    conversation = events_for(lambda: querying(q), server)
    assert conversation.events == [
        ev.RowDescription((A.column(),)),
        ev.Rows([(1,)]),
        complete("SELECT 1", q),
        complete("", q),
        complete("INSERT 0 1", q),
        ev.RowDescription((B.column(), A.column())),
        ev.Rows([("x", 2)]),
        complete("SELECT 1", q),
        ev.ReadyForQuery("I"),
    ]


def test_empty_query() -> None:
    conversation = events_for(lambda: querying(""), EMPTY_QUERY_RESPONSE + ready())
    assert conversation.events == [complete("", ""), ev.ReadyForQuery("I")]


def test_select_no_rows_and_no_columns() -> None:
    server = row_description() + data_row() + data_row() + command_complete("SELECT 2") + ready()
    conversation = events_for(lambda: querying("SELECT"), server)
    assert conversation.events == [
        ev.RowDescription(()),
        ev.Rows([(), ()]),
        complete("SELECT 2", "SELECT"),
        ev.ReadyForQuery("I"),
    ]


def test_asynchronous_messages_between_data_rows_arrive_in_order() -> None:
    q = "SELECT a FROM t"
    server = (
        row_description(A)
        + data_row(b"1")
        + parameter_status("TimeZone", "UTC")
        + data_row(b"2")
        + data_row(b"3")
        + notice_response("WARNING", "01000", "mid-result")
        + notification(77, "ch", "p1")
        + data_row(b"4")
        + notification(77, "ch", "p2")
        + command_complete("SELECT 4")
        + notice_response("NOTICE", "00000", "after")
        + ready()
    )
    conversation = events_for(lambda: querying(q), server)
    assert conversation.events == [
        ev.RowDescription((A.column(),)),
        ev.Rows([(1,)]),
        ev.ParameterStatus("TimeZone", "UTC"),
        ev.Rows([(2,), (3,)]),
        error_notice("WARNING", "01000", "mid-result"),
        ev.Notification(77, "ch", "p1"),
        ev.Rows([(4,)]),
        ev.Notification(77, "ch", "p2"),
        complete("SELECT 4", q),
        error_notice("NOTICE", "00000", "after"),
        ev.ReadyForQuery("I"),
    ]
    assert conversation.client is not None
    assert conversation.client.parameters["TimeZone"] == "UTC"


def test_notification_while_idle() -> None:
    conversation = events_for(ready_client, notification(1, "a", "x") + notice_response() + parameter_status("p", "v"))
    assert conversation.events == [
        ev.Notification(1, "a", "x"),
        error_notice("NOTICE", "00000", "hello"),
        ev.ParameterStatus("p", "v"),
    ]


DIVISION = error_notice("ERROR", "22012", "division by zero")


def test_error_in_the_middle_then_the_next_query_works() -> None:
    q1 = "SELECT 1 AS a; SELECT 1/0 AS a; SELECT 3 AS a"
    q2 = "SELECT 'next' AS b"
    server = (
        row_description(A)
        + data_row(b"1")
        + command_complete("SELECT 1")
        + row_description(A)
        + error_response("ERROR", "22012", "division by zero")
        + ready()
        + row_description(B)
        + data_row(b"next")
        + command_complete("SELECT 1")
        + ready()
    )
    conversation = events_for(lambda: querying(q1, q2), server)
    assert conversation.events == [
        ev.RowDescription((A.column(),)),
        ev.Rows([(1,)]),
        complete("SELECT 1", q1),
        ev.RowDescription((A.column(),)),
        failed(DIVISION, q1),
        ev.ReadyForQuery("I"),
        ev.RowDescription((B.column(),)),
        ev.Rows([("next",)]),
        complete("SELECT 1", q2),
        ev.ReadyForQuery("I"),
    ]
    assert conversation.sent == query_message(q1) + query_message(q2)


def test_error_after_some_rows() -> None:
    q = "SELECT 10 / (3 - a) FROM t"
    server = (
        row_description(A)
        + data_row(b"5")
        + data_row(b"10")
        + error_response("ERROR", "22012", "division by zero")
        + ready(b"E")
    )
    conversation = events_for(lambda: querying(q), server)
    assert conversation.events == [
        ev.RowDescription((A.column(),)),
        ev.Rows([(5,), (10,)]),
        failed(DIVISION, q),
        ev.ReadyForQuery("E"),
    ]
    assert conversation.client is not None
    assert conversation.client.transaction_status == "E"
    assert conversation.client.is_idle


def test_error_keeps_every_field() -> None:
    error = error_response(
        "ERROR", "23505", "duplicate key", detail="Key (a)=(1) already exists.", schema_name="public",
        table_name="t", constraint_name="t_pkey", server_source_line="666",
    )  # fmt: skip
    conversation = events_for(lambda: querying("INSERT"), error + ready())
    notice = error_notice(
        "ERROR", "23505", "duplicate key", detail="Key (a)=(1) already exists.", schema_name="public",
        table_name="t", constraint_name="t_pkey", server_source_line="666",
    )  # fmt: skip
    assert conversation.events == [failed(notice, "INSERT"), ev.ReadyForQuery("I")]


TERMINATING = error_notice("FATAL", "57P01", "terminating connection due to administrator command")


def test_fatal_error_mid_query() -> None:
    q = "SELECT a FROM t"
    server = (
        row_description(A)
        + data_row(b"1")
        + error_response("FATAL", "57P01", "terminating connection due to administrator command")
        + ready()  # whatever follows a FATAL error is ignored
    )
    conversation = events_for(lambda: querying(q), server, eof=True)
    assert conversation.events == [
        ev.RowDescription((A.column(),)),
        ev.Rows([(1,)]),
        ev.Terminated(TERMINATING),
    ]
    client = conversation.client
    assert client is not None
    assert client.is_closed and client.phase is Phase.CLOSED and not client.is_ready
    with pytest.raises(ConnectionDoesNotExistError):
        client.query("SELECT 1")
    with pytest.raises(ConnectionDoesNotExistError):
        client.prepare("s", "SELECT 1")
    with pytest.raises(ConnectionDoesNotExistError):
        client.extended_query("SELECT 1")
    with pytest.raises(ConnectionDoesNotExistError):
        client.sync()
    with pytest.raises(ConnectionDoesNotExistError):
        client.copy_data(b"x")
    client.receive_data(b"")
    client.receive_data(ready())
    assert client.next_event() is NEED_DATA


def test_panic_terminates_too() -> None:
    conversation = events_for(lambda: querying("SELECT"), error_response("PANIC", "XX000", "boom"))
    assert conversation.events == [ev.Terminated(error_notice("PANIC", "XX000", "boom"))]


def test_fatal_is_recognised_by_the_nonlocalized_severity() -> None:
    body = b"SFATALE\0VFATAL\0C57P01\0Mbye\0\0"  # a translated severity, and the untranslated one
    conversation = events_for(lambda: querying("SELECT"), msg(b"E", body))
    assert conversation.events == [
        ev.Terminated(ev.Notice(severity="FATALE", severity_nonlocalized="FATAL", sqlstate="57P01", message="bye"))
    ]


def test_eof_while_idle() -> None:
    conversation = events_for(ready_client, b"", eof=True)
    assert conversation.events == [ev.Terminated(None)]


@pytest.mark.parametrize("partial", [b"", b"D", b"D\0\0", b"D\0\0\0\x0b\0\x01", data_row(b"2")[:-1]])
def test_eof_mid_result_exactly_once(partial: bytes) -> None:
    server = row_description(A) + data_row(b"1") + partial
    conversation = events_for(lambda: querying("SELECT a"), server, eof=True)
    assert conversation.events == [ev.RowDescription((A.column(),)), ev.Rows([(1,)]), ev.Terminated(None)]
    client = conversation.client
    assert client is not None
    assert client.is_closed
    assert client.next_event() is NEED_DATA
    client.receive_data(b"")
    assert client.next_event() is NEED_DATA
    with pytest.raises(ConnectionDoesNotExistError):
        client.query("SELECT 1")


def test_eof_while_a_large_message_is_collected() -> None:
    server = row_description(B) + data_row(b"x" * 200_000)[:70_000]  # past the buffer's chunking threshold
    splits = [[], [10], list(range(100, len(server), 5000))]
    conversation = events_for(lambda: querying("SELECT b"), server, splits, eof=True)
    assert conversation.events == [ev.RowDescription((B.column(),)), ev.Terminated(None)]


def test_terminate_sends_x_and_produces_no_event() -> None:
    client = querying("SELECT 1")
    client.data_to_send()
    client.terminate()
    assert client.data_to_send() == TERMINATE
    assert client.is_closed
    assert client.next_event() is NEED_DATA
    client.receive_data(row_description(A) + data_row(b"1"))
    client.receive_data(b"")
    assert client.next_event() is NEED_DATA
    client.terminate()  # a second terminate is a no-op
    assert client.data_to_send() == b""
    with pytest.raises(ConnectionDoesNotExistError):
        client.query("SELECT 1")


def test_query_with_a_nul_is_refused_and_nothing_is_queued() -> None:
    client = ready_client()
    with pytest.raises(InterfaceError, match="NUL"):
        client.query("SELECT 1\0")
    assert client.data_to_send() == b""
    assert client.is_idle


def test_data_row_with_the_wrong_column_count() -> None:
    server = row_description(A) + data_row(b"1", b"2") + command_complete("SELECT 1") + ready()
    conversation = events_for(lambda: querying("SELECT a"), server)
    assert conversation.events == [ev.RowDescription((A.column(),))]
    assert conversation.error == "DataRow has 2 columns but RowDescription announced 1"


def test_data_row_with_too_few_columns_after_good_rows() -> None:
    # The good rows before the broken one arrive whatever the chunking, then the error.
    server = row_description(A, B) + data_row(b"1", b"x") + data_row(b"2") + command_complete("SELECT 2") + ready()
    conversation = events_for(lambda: querying("SELECT a, b"), server)
    assert conversation.events == [ev.RowDescription((A.column(), B.column())), ev.Rows([(1, "x")])]
    assert conversation.error == "DataRow has 1 columns but RowDescription announced 2"


BINARY_A = Field("a", INT4, format=1)


def bad_int4_message() -> str:
    try:
        decoder(INT4, 1)(b"\0\0\1")
    except Exception as exc:  # whatever the codec raises, its text becomes the event's
        return str(exc)
    raise AssertionError("a 3-byte binary int4 decoded")


def test_decode_failure_skips_the_rest_of_the_result() -> None:
    q1, q2 = "SELECT a FROM broken", "SELECT a FROM fine"
    server = (
        row_description(BINARY_A)
        + data_row(b"\0\0\1")  # a binary int4 of 3 bytes
        + data_row(b"\0\0\0\2")
        + command_complete("SELECT 2")
        + ready()
        + row_description(BINARY_A)
        + data_row(b"\0\0\0\3")
        + command_complete("SELECT 1")
        + ready()
    )
    conversation = events_for(lambda: querying(q1, q2), server)
    assert conversation.events == [
        ev.RowDescription((BINARY_A.column(),)),
        ev.DecodeFailed("a", INT4, bad_int4_message()),
        complete("SELECT 2", q1),
        ev.ReadyForQuery("I"),
        ev.RowDescription((BINARY_A.column(),)),
        ev.Rows([(3,)]),
        complete("SELECT 1", q2),
        ev.ReadyForQuery("I"),
    ]


def test_decode_failure_after_good_rows_keeps_them() -> None:
    # Rows decoded before the failing one are delivered, whatever the chunking.
    q = "SELECT a, b FROM t"
    server = (
        row_description(B, BINARY_A)
        + data_row(b"x", b"\0\0\0\1")
        + data_row(b"y", b"\0\0\1")
        + data_row(b"z", b"\0\0\0\3")
        + command_complete("SELECT 3")
        + ready()
    )
    conversation = events_for(lambda: querying(q), server)
    assert conversation.events == [
        ev.RowDescription((B.column(), BINARY_A.column())),
        ev.Rows([("x", 1)]),
        ev.DecodeFailed("a", INT4, bad_int4_message()),
        complete("SELECT 3", q),
        ev.ReadyForQuery("I"),
    ]


def test_decode_failure_in_one_statement_of_several() -> None:
    q = "SELECT broken; SELECT fine"
    server = (
        row_description(BINARY_A)
        + data_row(b"\0\0\1")
        + command_complete("SELECT 1")
        + row_description(BINARY_A)
        + data_row(b"\0\0\0\7")
        + command_complete("SELECT 1")
        + ready()
    )
    conversation = events_for(lambda: querying(q), server)
    assert conversation.events == [
        ev.RowDescription((BINARY_A.column(),)),
        ev.DecodeFailed("a", INT4, bad_int4_message()),
        complete("SELECT 1", q),
        ev.RowDescription((BINARY_A.column(),)),
        ev.Rows([(7,)]),
        complete("SELECT 1", q),
        ev.ReadyForQuery("I"),
    ]


def test_large_values() -> None:
    big = bytes(range(97, 123)) * 8000  # 208,000 bytes: collected in chunks by the buffer
    server = row_description(B) + data_row(big) + data_row(b"small") + command_complete("SELECT 2") + ready()
    size = len(server)
    splits = [[], list(range(1000, size, 1000)), [7], [size - 3], [20, 100_000, 200_000], list(range(1, 300))]
    conversation = events_for(lambda: querying("SELECT b"), server, splits)
    assert conversation.events == [
        ev.RowDescription((B.column(),)),
        ev.Rows([(big.decode(),), ("small",)]),
        complete("SELECT 2", "SELECT b"),
        ev.ReadyForQuery("I"),
    ]


# -- broken servers --------------------------------------------------------------------------------------


def test_message_with_no_request_in_flight() -> None:
    conversation = events_for(ready_client, data_row(b"1"))
    assert conversation.error == "unexpected DataRow while no request is in flight"
    conversation = events_for(ready_client, ready())
    assert conversation.error == "unexpected ReadyForQuery while no request is in flight"


def test_error_response_with_no_request_in_flight() -> None:
    conversation = events_for(ready_client, error_response())
    assert conversation.error == "unexpected ErrorResponse while no request is in flight"


def test_length_below_four_through_the_client() -> None:
    conversation = events_for(lambda: querying("SELECT"), b"Z" + i32(3) + b"I")
    assert conversation.error is not None
    assert "'Z'" in conversation.error and "length 3" in conversation.error


@pytest.mark.parametrize("in_rows", [False, True], ids=["before rows", "among rows"])
def test_message_over_the_size_cap_is_refused_from_its_header(in_rows: bool) -> None:
    client = querying("SELECT a", max_message_size=1000)
    if in_rows:
        assert feed(client, row_description(A)) == [ev.RowDescription((A.column(),))]
    client.receive_data(b"D" + i32(1001))  # the header alone: no body was buffered
    with pytest.raises(ProtocolError, match=r"'D' declares length 1001; expected 4 to 1000"):
        client.next_event()
    assert client.phase is Phase.FAILED
    with pytest.raises(ProtocolError, match="length 1001"):
        client.receive_data(b"x" * 997)


def test_message_at_the_size_cap_is_accepted() -> None:
    client = querying("SELECT b", max_message_size=1000)
    feed(client, row_description(B))
    value = b"v" * (1000 - 4 - 2 - 4)
    assert len(data_row(value)) == 1001
    assert feed(client, data_row(value)) == [ev.Rows([(value.decode(),)])]


def test_unknown_message_type() -> None:
    conversation = events_for(lambda: querying("SELECT"), msg(b"?", b"x") + ready())
    assert conversation.error == "unknown message type b'?'"


def test_bad_ready_for_query_status() -> None:
    conversation = events_for(lambda: querying("SELECT"), EMPTY_QUERY_RESPONSE + ready(b"X"))
    assert conversation.events == [complete("", "SELECT")]
    assert conversation.error == "ReadyForQuery has transaction status b'X'; expected b'I', b'T' or b'E'"


# A DataRow broken in each way, framed with a correct length so that the body is what is wrong.
BROKEN_DATA_ROWS = [
    ("truncated count", msg(b"D", b"\0")),
    ("values missing", msg(b"D", i16(2) + i32(1) + b"1")),
    ("value runs past the end", msg(b"D", i16(1) + i32(9) + b"1")),
    ("truncated value length", msg(b"D", i16(1) + b"\0\0\0")),
    ("negative value length", msg(b"D", i16(1) + i32(-5) + b"1")),
    ("trailing bytes", msg(b"D", i16(1) + i32(1) + b"12")),
    ("negative count", msg(b"D", i16(-1))),
    ("empty", msg(b"D")),
]


@pytest.mark.parametrize("broken", [d[1] for d in BROKEN_DATA_ROWS], ids=[d[0] for d in BROKEN_DATA_ROWS])
def test_broken_data_row(broken: bytes) -> None:
    server = row_description(A) + broken + command_complete("SELECT 1") + ready()
    conversation = events_for(lambda: querying("SELECT a"), server)
    assert conversation.events == [ev.RowDescription((A.column(),))]
    assert conversation.error is not None and "DataRow" in conversation.error


def test_broken_data_row_in_a_result_without_columns() -> None:
    # A DataRow of count -1 is not an empty row, even where rows have no columns.
    server = row_description() + msg(b"D", i16(-1)) + command_complete("SELECT 1") + ready()
    conversation = events_for(lambda: querying("SELECT"), server)
    assert conversation.events == [ev.RowDescription(())]
    assert conversation.error is not None and "DataRow" in conversation.error


@pytest.mark.parametrize(
    "broken",
    [
        msg(b"C", b"SELECT 1"),
        msg(b"T", i16(1) + b"a\0"),
        msg(b"E", b"SERROR"),
        msg(b"N", b""),
        msg(b"A", i32(1) + b"ch"),
        msg(b"S", b"name\0"),
        msg(b"Z", b""),
        msg(b"I", b"x"),
    ],
    ids=lambda m: chr(m[0]),
)
def test_broken_message_fails_the_client_for_good(broken: bytes) -> None:
    client = querying("SELECT")
    assert client.data_to_send() == query_message("SELECT")
    client.receive_data(broken)
    with pytest.raises(ProtocolError) as first:
        client.next_event()
    assert MESSAGE_NAMES[broken[0]] in str(first.value)
    for _ in range(3):
        with pytest.raises(ProtocolError) as again:
            client.next_event()
        assert str(again.value) == str(first.value)
        with pytest.raises(ProtocolError) as again:
            client.receive_data(ready())
        assert str(again.value) == str(first.value)
    assert client.phase is Phase.FAILED and client.is_closed
    with pytest.raises(ConnectionDoesNotExistError):
        client.query("SELECT 1")
    client.terminate()  # a failed client has nothing more to say
    assert client.data_to_send() == b""


@pytest.mark.parametrize(("message", "expected"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_every_malformed_message_through_the_client(message: bytes, expected: str) -> None:
    conversation = events_for(lambda: querying("SELECT"), message + ready())
    assert conversation.events == []
    assert conversation.error_type is ProtocolError
    assert conversation.error is not None and expected in conversation.error


def test_events_before_the_broken_message_are_delivered() -> None:
    client = querying("SELECT a")
    client.receive_data(row_description(A) + data_row(b"1") + msg(b"C", b"no NUL"))
    assert client.next_event() == ev.RowDescription((A.column(),))
    assert client.next_event() == ev.Rows([(1,)])
    with pytest.raises(ProtocolError, match="CommandComplete"):
        client.next_event()


def test_drain_helper_stops_at_need_data() -> None:
    client = querying("SELECT a")
    assert drain(client) == []
    assert client.next_event() is NEED_DATA


ASYNC_MALFORMED = [m for m in MALFORMED if m[1][:1] in (b"A", b"N")]


@pytest.mark.parametrize("message", [m[1] for m in ASYNC_MALFORMED], ids=[m[0] for m in ASYNC_MALFORMED])
@pytest.mark.parametrize("make", [ready_client, lambda: querying("SELECT")], ids=["idle", "querying"])
def test_a_malformed_notification_or_notice_fails_as_the_parser_says(
    message: bytes, make: Callable[[], Client]
) -> None:
    # The client makes these events straight from the bytes, past b.parse: the error must be the same.
    with pytest.raises(ProtocolError) as parsed:
        b.parse(message[0], message[5:])
    conversation = events_for(make, message + ready())
    assert conversation.events == []
    assert conversation.error == str(parsed.value)


# A run of NotificationResponses is parsed in one pass (Client._parse_notifications_ahead): in the server's
# order with what surrounds it, however the bytes are cut, and a bad one after good ones still fails as
# the parser says, after them.
FLOOD = [(pid, f"channel {pid % 3}", "é" * (pid % 4)) for pid in range(1, 8)]


def test_a_flood_of_notifications_between_rows_and_notices() -> None:
    server = b"".join(notification(*n) for n in FLOOD[:3]) + row_description(A) + data_row(b"1")
    server += b"".join(notification(*n) for n in FLOOD[3:]) + notice_response() + data_row(b"2")
    server += notification(99, "last", "") + command_complete("SELECT 2") + ready()
    conversation = events_for(lambda: querying("SELECT a"), server)
    notifications = [e for e in conversation.events if isinstance(e, ev.Notification)]
    assert notifications == [ev.Notification(*n) for n in FLOOD] + [ev.Notification(99, "last", "")]
    kinds = [type(e).__name__ for e in conversation.events]
    assert kinds == ["Notification"] * 3 + ["RowDescription", "Rows"] + ["Notification"] * 4 + [
        "Notice",
        "Rows",
        "Notification",
        "QueryComplete",
        "ReadyForQuery",
    ]


MALFORMED_NOTIFICATIONS = [m for m in ASYNC_MALFORMED if m[1][:1] == b"A"]


@pytest.mark.parametrize(
    "message",
    [m[1] for m in MALFORMED_NOTIFICATIONS],
    ids=[m[0] for m in MALFORMED_NOTIFICATIONS],
)
def test_a_malformed_notification_after_a_run_of_good_ones(message: bytes) -> None:
    with pytest.raises(ProtocolError) as parsed:
        b.parse(message[0], message[5:])
    good = b"".join(notification(*n) for n in FLOOD)
    conversation = events_for(ready_client, good + message + ready())
    assert conversation.events == [ev.Notification(*n) for n in FLOOD]
    assert conversation.error == str(parsed.value)


# A run of NoticeResponses (a RAISE NOTICE loop) is parsed in one pass too (Client._parse_notices_ahead),
# with the same guarantees. The run mixes the usual fields, an unknown field code, text in a broken
# encoding and a notice with no fields, which take the parser's byte-wise path.
NOTICE_RUN = [
    notice_response(message=f"notice {i}", context="PL/pgSQL function inline_code_block line 3 at RAISE")
    for i in range(4)
] + [
    msg(b"N", b"Xunknown code\0" + b"SNOTICE\0Mwith an unknown field\0\0"),
    msg(b"N", b"SWARNING\0M\xe9chec\0\0"),
    msg(b"N", b"\0"),
    notice_response(severity="INFO", message="", hint="empty message"),
]
NOTICE_RUN_EVENTS = [
    ev.Notice(
        severity="NOTICE",
        severity_nonlocalized="NOTICE",
        sqlstate="00000",
        message=f"notice {i}",
        context="PL/pgSQL function inline_code_block line 3 at RAISE",
    )
    for i in range(4)
] + [
    ev.Notice(severity="NOTICE", message="with an unknown field"),
    ev.Notice(severity="WARNING", message="\ufffdchec"),
    ev.Notice(),
    ev.Notice(severity="INFO", severity_nonlocalized="INFO", sqlstate="00000", message="", hint="empty message"),
]


def test_a_run_of_notices_between_rows_and_notifications() -> None:
    server = b"".join(NOTICE_RUN[:5]) + row_description(A) + data_row(b"1") + b"".join(NOTICE_RUN[5:])
    server += notification(7, "c", "p") + NOTICE_RUN[0] + command_complete("SELECT 1") + ready()
    conversation = events_for(lambda: querying("SELECT a"), server)
    assert conversation.events == [
        *NOTICE_RUN_EVENTS[:5],
        ev.RowDescription((A.column(),)),
        ev.Rows([(1,)]),
        *NOTICE_RUN_EVENTS[5:],
        ev.Notification(7, "c", "p"),
        NOTICE_RUN_EVENTS[0],
        ev.QueryComplete("SELECT 1", "SELECT a", (), 0.0),
        ev.ReadyForQuery("I"),
    ]
    assert all(type(e) is ev.Notice for e in conversation.events[:5])  # not a subclass, not a lookalike


MALFORMED_NOTICES = [m for m in ASYNC_MALFORMED if m[1][:1] == b"N"]


@pytest.mark.parametrize("message", [m[1] for m in MALFORMED_NOTICES], ids=[m[0] for m in MALFORMED_NOTICES])
def test_a_malformed_notice_after_a_run_of_good_ones(message: bytes) -> None:
    with pytest.raises(ProtocolError) as parsed:
        b.parse(message[0], message[5:])
    conversation = events_for(ready_client, b"".join(NOTICE_RUN) + message + ready())
    assert conversation.events == NOTICE_RUN_EVENTS
    assert conversation.error == str(parsed.value)


def test_a_flood_larger_than_the_look_ahead_comes_whole_and_in_order() -> None:
    # One read of a LISTEN or RAISE NOTICE flood holds thousands of messages; the client parses a few
    # kilobytes of them ahead at a time (memory and speed, issue 6), and still hands on every one, in order.
    notifications = [notification(pid, "flood", str(pid)) for pid in range(3000)]
    notices = [notice_response(message=f"notice {i}") for i in range(1000)]
    client = ready_client()
    client.receive_data(b"".join(notifications) + b"".join(notices) + notification(1, "last", ""))
    shortest = min(len(m) for m in notifications + notices)
    events, most_ahead = [], 0
    while (event := client.next_event()) is not NEED_DATA:
        events.append(event)
        most_ahead = max(most_ahead, len(client._ready))
    assert events == [
        *(ev.Notification(pid, "flood", str(pid)) for pid in range(3000)),
        *(
            ev.Notice(severity="NOTICE", severity_nonlocalized="NOTICE", sqlstate="00000", message=f"notice {i}")
            for i in range(1000)
        ),
        ev.Notification(1, "last", ""),
    ]
    assert 0 < most_ahead <= 16384 // shortest  # at most 16 KiB of messages parsed ahead, not the whole read


def test_no_event_follows_terminate_even_one_parsed_ahead() -> None:
    client = ready_client()
    client.receive_data(b"".join(NOTICE_RUN[:3]) + notification(1, "a", "") + notification(2, "a", ""))
    assert client.next_event() == NOTICE_RUN_EVENTS[0]  # the other two notices wait, parsed, in the client
    client.terminate()
    assert client.next_event() is NEED_DATA
    client.receive_data(notification(3, "a", ""))
    assert client.next_event() is NEED_DATA
