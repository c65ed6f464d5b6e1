"""Client conversations with COPY: out to the client, in from it, failure, and through the extended protocol."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pgproto import Client, InterfaceError
from pgproto import events as ev

from .helpers import (
    BIND_COMPLETE,
    COPY_DONE,
    NO_DATA,
    PARSE_COMPLETE,
    SYNC,
    command_complete,
    complete,
    copy_both_response,
    copy_data,
    copy_in_response,
    copy_out_response,
    cstr,
    error_notice,
    error_response,
    events_for,
    failed,
    feed,
    msg,
    notice_response,
    query_message,
    ready,
    ready_client,
)

COPY_OUT = "COPY t TO STDOUT"
COPY_IN = "COPY t FROM STDIN"


def querying(text: str) -> Client:
    client = ready_client()
    client.query(text)
    return client


def test_copy_out() -> None:
    server = (
        copy_out_response(0, 0, 0)
        + copy_data(b"1\tone\n")
        + notice_response("NOTICE", "00000", "during copy")
        + copy_data(b"2\ttwo\n")
        + COPY_DONE
        + command_complete("COPY 2")
        + ready()
    )
    conversation = events_for(lambda: querying(COPY_OUT), server)
    assert conversation.events == [
        ev.CopyOutResponse(0, (0, 0)),
        ev.CopyData(b"1\tone\n"),
        error_notice("NOTICE", "00000", "during copy"),
        ev.CopyData(b"2\ttwo\n"),
        ev.CopyDone(),
        complete("COPY 2", COPY_OUT),
        ev.ReadyForQuery("I"),
    ]
    assert conversation.sent == query_message(COPY_OUT)


def test_copy_out_binary_empty() -> None:
    server = copy_out_response(1, 1) + COPY_DONE + command_complete("COPY 0") + ready()
    conversation = events_for(lambda: querying(COPY_OUT), server)
    assert conversation.events == [
        ev.CopyOutResponse(1, (1,)),
        ev.CopyDone(),
        complete("COPY 0", COPY_OUT),
        ev.ReadyForQuery("I"),
    ]


def test_copy_out_error_midway() -> None:
    server = copy_out_response(0, 0) + copy_data(b"1\n") + error_response("ERROR", "57014", "canceled") + ready()
    conversation = events_for(lambda: querying(COPY_OUT), server)
    assert conversation.events == [
        ev.CopyOutResponse(0, (0,)),
        ev.CopyData(b"1\n"),
        failed(error_notice("ERROR", "57014", "canceled"), COPY_OUT),
        ev.ReadyForQuery("I"),
    ]


def send_rows(client: Client, event: ev.Event) -> None:
    """Answer a CopyInResponse with two rows and CopyDone, as an application would."""
    if isinstance(event, ev.CopyInResponse):
        client.copy_data(b"1\tone\n")
        client.copy_data(b"2\ttwo\n")
        client.copy_done()


def test_copy_in() -> None:
    server = copy_in_response(0, 0, 0) + command_complete("COPY 2") + ready()
    conversation = events_for(lambda: querying(COPY_IN), server, react=send_rows)
    assert conversation.events == [
        ev.CopyInResponse(0, (0, 0)),
        complete("COPY 2", COPY_IN),
        ev.ReadyForQuery("I"),
    ]
    assert conversation.sent == (query_message(COPY_IN) + msg(b"d", b"1\tone\n") + msg(b"d", b"2\ttwo\n") + msg(b"c"))


def test_copy_in_fail() -> None:
    def give_up(client: Client, event: ev.Event) -> None:
        if isinstance(event, ev.CopyInResponse):
            client.copy_data(b"1\n")
            client.copy_fail("changed my mind")

    error = error_response("ERROR", "57014", "COPY from stdin failed: changed my mind")
    conversation = events_for(lambda: querying(COPY_IN), copy_in_response(0, 0) + error + ready(), react=give_up)
    assert conversation.events == [
        ev.CopyInResponse(0, (0,)),
        failed(error_notice("ERROR", "57014", "COPY from stdin failed: changed my mind"), COPY_IN),
        ev.ReadyForQuery("I"),
    ]
    assert conversation.sent == query_message(COPY_IN) + msg(b"d", b"1\n") + msg(b"f", cstr("changed my mind"))
    client = conversation.client
    assert client is not None and client.is_idle
    with pytest.raises(InterfaceError, match="CopyInResponse"):
        client.copy_data(b"late")


def test_copy_data_is_refused_outside_copy_in() -> None:
    client = ready_client()
    sends: list[Callable[[], None]] = [lambda: client.copy_data(b"x"), client.copy_done, lambda: client.copy_fail("x")]
    for send in sends:
        with pytest.raises(InterfaceError, match="CopyInResponse"):
            send()
    client.query(COPY_IN)
    with pytest.raises(InterfaceError, match="CopyInResponse"):
        client.copy_data(b"too early")
    assert feed(client, copy_in_response(0)) == [ev.CopyInResponse(0, ())]
    client.copy_data(b"now\n")
    client.copy_done()
    assert client.data_to_send() == query_message(COPY_IN) + msg(b"d", b"now\n") + msg(b"c")


def test_copy_fail_reason_with_a_nul() -> None:
    client = querying(COPY_IN)
    feed(client, copy_in_response(0))
    with pytest.raises(InterfaceError, match="NUL"):
        client.copy_fail("a\0b")


def test_copy_both() -> None:
    q = "START_REPLICATION SLOT s LOGICAL 0/0"
    server = copy_both_response(0) + copy_data(b"w...") + COPY_DONE + command_complete("START_REPLICATION") + ready()
    conversation = events_for(lambda: querying(q), server)
    assert conversation.events == [
        ev.CopyBothResponse(0, ()),
        ev.CopyData(b"w..."),
        ev.CopyDone(),
        complete("START_REPLICATION", q),
        ev.ReadyForQuery("I"),
    ]


def test_copy_among_several_statements() -> None:
    q = "COPY a TO STDOUT; COPY b FROM STDIN"

    def finish(client: Client, event: ev.Event) -> None:
        if isinstance(event, ev.CopyInResponse):
            client.copy_done()

    server = (
        copy_out_response(0)
        + copy_data(b"a\n")
        + COPY_DONE
        + command_complete("COPY 1")
        + copy_in_response(0)
        + command_complete("COPY 0")
        + ready()
    )
    conversation = events_for(lambda: querying(q), server, react=finish)
    assert conversation.events == [
        ev.CopyOutResponse(0, ()),
        ev.CopyData(b"a\n"),
        ev.CopyDone(),
        complete("COPY 1", q),
        ev.CopyInResponse(0, ()),
        complete("COPY 0", q),
        ev.ReadyForQuery("I"),
    ]
    assert conversation.sent == query_message(q) + msg(b"c")


def test_extended_copy_out() -> None:
    def make() -> Client:
        client = ready_client()
        client.extended_query(COPY_OUT)
        return client

    server = (
        PARSE_COMPLETE
        + BIND_COMPLETE
        + NO_DATA
        + copy_out_response(0, 0)
        + copy_data(b"x\n")
        + COPY_DONE
        + command_complete("COPY 1")
        + ready()
    )
    conversation = events_for(make, server)
    assert conversation.events == [
        ev.CopyOutResponse(0, (0,)),
        ev.CopyData(b"x\n"),
        ev.CopyDone(),
        complete("COPY 1", COPY_OUT),
        ev.ReadyForQuery("I"),
    ]


def test_extended_copy_in() -> None:
    def make() -> Client:
        client = ready_client()
        client.extended_query(COPY_IN)
        client.data_to_send()
        return client

    server = PARSE_COMPLETE + BIND_COMPLETE + NO_DATA + copy_in_response(0, 0, 0) + command_complete("COPY 2") + ready()
    conversation = events_for(make, server, react=send_rows)
    assert conversation.events == [
        ev.CopyInResponse(0, (0, 0)),
        complete("COPY 2", COPY_IN),
        ev.ReadyForQuery("I"),
    ]
    # The Sync went out with the request; the server reads our COPY data before it (docs §55.2.6).
    assert conversation.sent == msg(b"d", b"1\tone\n") + msg(b"d", b"2\ttwo\n") + msg(b"c")
    assert SYNC not in conversation.sent
