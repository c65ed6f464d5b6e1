"""Properties of the receiving side: any bytes give events or ProtocolError, the buffer stays under its cap,
and valid streams give the expected events however they are split into reads.

Each property is a plain `check_*` function over one generated case, so `python -m fuzz` can run it with its
own settings; the `test_*` functions are the pytest entry points, with the examples that once failed.
"""

from __future__ import annotations

from typing import Final, get_args

from hypothesis import example, given
from hypothesis import strategies as st

import pgproto
from fuzz import Target, fuzz_settings
from fuzz import strategies as s
from pgproto import NEED_DATA, Client, InterfaceError, ProtocolError
from pgproto import events as ev
from pgproto._types.oids import VOID

#: Every event class a Client may return.
EVENT_TYPES: Final = get_args(ev.Event)


def _clock() -> float:
    return 0.0


def _feed_valid(client: Client, round_: s.Round) -> list[object]:
    """Queue the round's calls and feed its messages whole; they are valid, so nothing may go wrong."""
    for call in round_.calls:
        call.apply(client)
    client.receive_data(b"".join(round_.messages))
    events: list[object] = []
    while (event := client.next_event()) is not NEED_DATA:
        events.append(event)
    return events


def _buffered(client: Client) -> int:
    return len(client._buffer)  # private: the property is about the buffer's size


def check_stream(case: s.StreamCase) -> None:
    """Feeding `case.stream` raises nothing but ProtocolError, ends, and buffers at most one message + one read."""
    try:
        client = Client(user="fuzz", password=case.password, clock=_clock, max_message_size=case.max_message_size)
    except InterfaceError:
        assert case.password is not None and "\0" in case.password  # refused up front: fine
        return
    for round_ in case.prelude:
        _feed_valid(client, round_)
    for call in case.calls:
        call.apply(client)
    client.data_to_send()
    # One message fills at most max_message_size bytes after its type byte; fewer than 5 bytes are a header.
    cap = max(case.max_message_size, 4)
    reads = [*s.chunks(case.stream, case.chunks), *([b""] * case.eof)]
    try:
        for data in reads:
            client.receive_data(data)
            assert _buffered(client) <= cap + len(data), (_buffered(client), cap, len(data))
            # Each event consumes at least one 5-byte header, except the one Terminated at EOF.
            for _ in range(_buffered(client) // 5 + 3):
                event = client.next_event()
                if event is NEED_DATA:
                    break
                assert isinstance(event, EVENT_TYPES), event
            else:
                raise AssertionError(f"next_event() did not return NEED_DATA; the client loops ({client.phase})")
            if not client.is_closed:
                assert _buffered(client) <= cap, (_buffered(client), cap)
    except ProtocolError as exc:
        _check_failed(client, exc)
        return
    if client.is_closed:
        client.receive_data(b"more")  # ignored once the session ended
        assert client.next_event() is NEED_DATA


def _check_failed(client: Client, error: ProtocolError) -> None:
    """After the first ProtocolError the client stays failed and repeats the first reason."""
    assert client.is_closed
    assert client.phase is pgproto.Phase.FAILED
    for call in (client.next_event, lambda: client.receive_data(b"Z\0\0\0\5I")):
        try:
            call()
        except ProtocolError as again:
            assert str(again) == str(error), (str(again), str(error))
        else:
            raise AssertionError(f"{call} did not raise after a ProtocolError")


def _drain_taking_answers(client: Client) -> list[object]:
    """The events as the drivers take them: `take_answer` first, `next_event` for what it leaves; a taken
    answer stands for the Rows, QueryComplete and ReadyForQuery its events would have been."""
    events: list[object] = []
    while True:
        head = client._pending[0] if client._pending else None
        answer = client.take_answer()
        if answer is not None:
            assert head is not None
            rows, tag = answer
            if rows:
                events.append(ev.Rows(rows))
            events.append(ev.QueryComplete(tag, head.query, head.args, _clock() - head.queued_at))
            events.append(ev.ReadyForQuery(client.transaction_status))
            continue
        event = client.next_event()
        if event is NEED_DATA:
            return events
        events.append(event)


def check_conversation(conversation: s.Conversation, sizes: tuple[int, ...]) -> None:
    """A valid conversation gives exactly its expected events, whole, byte by byte and in reads of `sizes`,
    and whole again as the drivers take it (`take_answer` first)."""
    for chunking, drivers_way in (((), False), ((1,), False), (sizes, False), ((), True)):
        client = Client(user="fuzz", clock=_clock)
        parameters: dict[str, str] = {}
        status = "I"
        event: object
        for i, round_ in enumerate(conversation.rounds):
            for call in round_.calls:
                call.apply(client)
            events: list[object] = []
            eof = conversation.eof and i == len(conversation.rounds) - 1
            for data in [*s.chunks(b"".join(round_.messages), chunking), *([b""] * eof)]:
                client.receive_data(data)
                if drivers_way:
                    events += _drain_taking_answers(client)
                while (event := client.next_event()) is not NEED_DATA:
                    events.append(event)
            assert not isinstance(round_.events, s.Unknown)
            expected = s.merge_rows(round_.events)
            actual = s.merge_rows(events)
            assert s.canonical(actual) == s.canonical(expected), (chunking, drivers_way, i, actual, expected)
            for event in round_.events:
                if isinstance(event, ev.ParameterStatus):
                    parameters[event.name] = event.value
                elif isinstance(event, ev.ReadyForQuery):
                    status = event.transaction_status
        assert client.parameters == parameters
        assert client.transaction_status == status
        assert client.next_event() is NEED_DATA


def check_values(case: s.ValuesCase) -> None:
    """Values of any type, damaged: each row decodes, or the result reports DecodeFailed once and skips the rest."""
    client = Client(user="fuzz", clock=_clock)
    for round_ in s.query_case(b"").prelude:
        _feed_valid(client, round_)
    client.query("SELECT")
    stream = s.row_description(case.columns) + b"".join(s.data_row(row) for row in case.rows)
    stream += s.command_complete("SELECT 1") + s.ready_for_query("I")
    events: list[object] = []
    for data in s.chunks(stream, case.chunks):
        client.receive_data(data)
        while (event := client.next_event()) is not NEED_DATA:
            events.append(event)
    assert events[0] == ev.RowDescription(case.columns)
    assert events[-2:] == [ev.QueryComplete("SELECT 1", "SELECT", (), 0.0), ev.ReadyForQuery("I")]
    middle = events[1:-2]
    failed = [e for e in middle if isinstance(e, ev.DecodeFailed)]
    assert len(failed) <= 1 and (not failed or middle[-1] is failed[0]), middle
    rows = [row for e in middle if isinstance(e, ev.Rows) for row in e.rows]
    assert len(rows) + len(failed) <= len(case.rows)
    if not failed:
        assert len(rows) == len(case.rows)
    for row, raw_row in zip(rows, case.rows):
        assert len(row) == len(case.columns)
        for column, value, raw in zip(case.columns, row, raw_row):
            # NULL is None, and so is a void function's result (asyncpg does the same).
            assert raw is not None or value is None, (column, raw, value)
            assert raw is None or value is not None or column.type_oid == VOID, (column, raw)


def _check_conversation(case: tuple[s.Conversation, tuple[int, ...]]) -> None:
    check_conversation(*case)


STREAMS: Final = Target("streams", s.stream_cases(), check_stream)
STARTUP: Final = Target("startup", s.startup_cases(), check_stream)
VALUES: Final = Target("values", s.values_cases(), check_values)
CONVERSATIONS: Final = Target("conversations", st.tuples(s.conversations(), s.chunkings()), _check_conversation)
#: The properties of this module, for `python -m fuzz`.
TARGETS: Final = (STREAMS, STARTUP, VALUES, CONVERSATIONS)


@fuzz_settings()
@given(STREAMS.strategy)
@example(
    # A RowDescription with format code 2 escaped as ValueError from pgproto._types.decoder (reported).
    s.query_case(s.message(b"T", b"\x00\x01a\x00" + bytes(9) + b"\x17\x00\x04\xff\xff\xff\xff\x00\x02"))
)
def test_mutated_streams_raise_only_protocol_error(case: s.StreamCase) -> None:
    STREAMS.check(case)


@fuzz_settings()
@given(STARTUP.strategy)
# AuthenticationCleartextPassword with a password holding a NUL: InterfaceError escaped next_event (reported).
@example(s.StreamCase((), (), s.authentication(3), password="nul\0inside"))
def test_mutated_startup_raises_only_protocol_error(case: s.StreamCase) -> None:
    STARTUP.check(case)


@fuzz_settings()
@given(VALUES.strategy)
def test_damaged_values_decode_or_report_decode_failed(case: s.ValuesCase) -> None:
    VALUES.check(case)


@fuzz_settings()
@given(CONVERSATIONS.strategy)
# A statement with 40000 parameters ($1 ... $40000): PostgreSQL allows 65535 and writes the count of its
# ParameterDescription unsigned; read as signed it looked negative and failed the connection (reported).
@example((s.prepared_conversation("SELECT $40000", [s.INT4] * 40000), ()))
def test_valid_conversations_give_expected_events_in_any_reads(case: tuple[s.Conversation, tuple[int, ...]]) -> None:
    CONVERSATIONS.check(case)
