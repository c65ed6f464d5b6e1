"""Byte builders for server messages, ready-made clients, and `events_for`, the chunking-invariance harness.

Everything here is written from the protocol docs (§55.7 "Message Formats"), not from pgproto's encoders,
so that the tests check the codec instead of repeating it.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from pgproto import NEED_DATA, Client, ProtocolError
from pgproto import events as ev
from pgproto._buffer import DEFAULT_MAX_MESSAGE_SIZE
from pgproto._state import Step
from pgproto._types import result_format

# -- framing --------------------------------------------------------------------------------------------


def msg(kind: bytes, body: bytes = b"") -> bytes:
    """One message: its type byte, then an Int32 length that counts itself, then the body."""
    assert len(kind) == 1
    return kind + struct.pack("!i", len(body) + 4) + body


def i16(n: int) -> bytes:
    return struct.pack("!h", n)


def i32(n: int) -> bytes:
    return struct.pack("!i", n)


def u32(n: int) -> bytes:
    return struct.pack("!I", n)


def cstr(text: str) -> bytes:
    return text.encode() + b"\0"


# -- server messages ------------------------------------------------------------------------------------


def auth(code: int, extra: bytes = b"") -> bytes:
    """An Authentication* request: R, Int32 code, then the code's data."""
    return msg(b"R", i32(code) + extra)


def auth_ok() -> bytes:
    return auth(0)


def auth_cleartext() -> bytes:
    return auth(3)


def auth_md5(salt: bytes) -> bytes:
    return auth(5, salt)


def auth_sasl(*mechanisms: str) -> bytes:
    return auth(10, b"".join(cstr(m) for m in mechanisms) + b"\0")


def auth_sasl_continue(data: bytes) -> bytes:
    return auth(11, data)


def auth_sasl_final(data: bytes) -> bytes:
    return auth(12, data)


def parameter_status(name: str, value: str) -> bytes:
    return msg(b"S", cstr(name) + cstr(value))


def backend_key_data(pid: int, secret_key: bytes) -> bytes:
    return msg(b"K", i32(pid) + secret_key)


def ready(status: bytes = b"I") -> bytes:
    return msg(b"Z", status)


@dataclass(frozen=True)
class Field:
    """One RowDescription field, with the defaults a plain `SELECT expr` gets."""

    name: str
    type_oid: int
    format: int = 0
    table_oid: int = 0
    column_number: int = 0
    type_size: int = -1
    type_modifier: int = -1

    def column(self, fmt: int | None = None) -> ev.Column:
        """The event Column this field becomes (with the format the client decodes, if not the sent one)."""
        return ev.Column(
            self.name,
            self.table_oid,
            self.column_number,
            self.type_oid,
            self.type_size,
            self.type_modifier,
            self.format if fmt is None else fmt,
        )


def row_description(*fields: Field) -> bytes:
    body = i16(len(fields))
    for f in fields:
        body += cstr(f.name) + u32(f.table_oid) + i16(f.column_number) + u32(f.type_oid)
        body += i16(f.type_size) + i32(f.type_modifier) + i16(f.format)
    return msg(b"T", body)


def data_row(*values: bytes | None) -> bytes:
    body = i16(len(values))
    for v in values:
        body += i32(-1) if v is None else i32(len(v)) + v
    return msg(b"D", body)


def command_complete(tag: str) -> bytes:
    return msg(b"C", cstr(tag))


#: ErrorResponse / NoticeResponse field codes (docs §55.8), by pgproto.Notice attribute name.
FIELD_CODES = {
    "severity": "S",
    "severity_nonlocalized": "V",
    "sqlstate": "C",
    "message": "M",
    "detail": "D",
    "hint": "H",
    "position": "P",
    "internal_position": "p",
    "internal_query": "q",
    "context": "W",
    "schema_name": "s",
    "table_name": "t",
    "column_name": "c",
    "data_type_name": "d",
    "constraint_name": "n",
    "server_source_filename": "F",
    "server_source_line": "L",
    "server_source_function": "R",
}


def notice_fields(**fields: str) -> bytes:
    """The body of an ErrorResponse or NoticeResponse, fields named as pgproto.Notice names them."""
    return b"".join(FIELD_CODES[name].encode() + cstr(value) for name, value in fields.items()) + b"\0"


def error_response(severity: str = "ERROR", sqlstate: str = "42601", message: str = "oops", **more: str) -> bytes:
    return msg(
        b"E",
        notice_fields(severity=severity, severity_nonlocalized=severity, sqlstate=sqlstate, message=message, **more),
    )


def error_notice(severity: str = "ERROR", sqlstate: str = "42601", message: str = "oops", **more: str) -> ev.Notice:
    """The Notice that `error_response` (or `notice_response`) with the same arguments decodes to."""
    return ev.Notice(severity=severity, severity_nonlocalized=severity, sqlstate=sqlstate, message=message, **more)


def notice_response(severity: str = "NOTICE", sqlstate: str = "00000", message: str = "hello", **more: str) -> bytes:
    return msg(
        b"N",
        notice_fields(severity=severity, severity_nonlocalized=severity, sqlstate=sqlstate, message=message, **more),
    )


def notification(pid: int, channel: str, payload: str) -> bytes:
    return msg(b"A", i32(pid) + cstr(channel) + cstr(payload))


def parameter_description(*oids: int) -> bytes:
    # The count is sent unsigned: a statement may have up to 65535 parameters.
    return msg(b"t", struct.pack("!H", len(oids)) + b"".join(u32(o) for o in oids))


def _copy_response(kind: bytes, fmt: int, column_formats: Sequence[int]) -> bytes:
    return msg(kind, bytes([fmt]) + i16(len(column_formats)) + b"".join(i16(f) for f in column_formats))


def copy_in_response(fmt: int = 0, *column_formats: int) -> bytes:
    return _copy_response(b"G", fmt, column_formats)


def copy_out_response(fmt: int = 0, *column_formats: int) -> bytes:
    return _copy_response(b"H", fmt, column_formats)


def copy_both_response(fmt: int = 0, *column_formats: int) -> bytes:
    return _copy_response(b"W", fmt, column_formats)


def copy_data(data: bytes) -> bytes:
    return msg(b"d", data)


def negotiate_protocol_version(minor: int, *options: str) -> bytes:
    return msg(b"v", i32(minor) + i32(len(options)) + b"".join(cstr(o) for o in options))


PARSE_COMPLETE = msg(b"1")
BIND_COMPLETE = msg(b"2")
CLOSE_COMPLETE = msg(b"3")
NO_DATA = msg(b"n")
EMPTY_QUERY_RESPONSE = msg(b"I")
PORTAL_SUSPENDED = msg(b"s")
COPY_DONE = msg(b"c")

# -- client messages, as the server receives them ---------------------------------------------------------

SYNC = msg(b"S")
FLUSH = msg(b"H")
TERMINATE = msg(b"X")


def query_message(text: str) -> bytes:
    return msg(b"Q", cstr(text))


def password_message(password: bytes) -> bytes:
    return msg(b"p", password + b"\0")


# -- clients ------------------------------------------------------------------------------------------------

INT4 = 23
TEXT = 25
INT8 = 20

#: What a trust-authenticated server sends before the first query.
STARTUP_OK = (
    auth_ok()
    + parameter_status("server_version", "16.2")
    + backend_key_data(4242, b"\x00\x00\x10\x01")
    + parameter_status("client_encoding", "UTF8")
    + ready()
)


def int4_value(n: int) -> bytes:
    """An int4 result value of a prepared statement, in the format the client asks int4 columns in."""
    return n.to_bytes(4, "big", signed=True) if result_format(INT4) == 1 else str(n).encode()


def zero_clock() -> float:
    """A clock that never moves: every duration is 0.0, whatever the chunking."""
    return 0.0


class TickingClock:
    """A clock that moves one second per reading: 0.0, 1.0, 2.0, ..."""

    def __init__(self) -> None:
        self.readings = 0

    def __call__(self) -> float:
        self.readings += 1
        return float(self.readings - 1)


def list_clock(times: Iterable[float]) -> Callable[[], float]:
    """A clock that returns `times` in order (and fails the test if read once too often)."""
    return iter(times).__next__


def new_client(
    password: str | None = None,
    clock: Callable[[], float] = zero_clock,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
) -> Client:
    """A client that has queued its StartupMessage (not yet taken)."""
    return Client(user="app", database="appdb", password=password, clock=clock, max_message_size=max_message_size)


def drain(client: Client) -> list[ev.Event]:
    """Every event available now."""
    events: list[ev.Event] = []
    while (event := client.next_event()) is not NEED_DATA:
        events.append(event)
    return events


def ready_client(clock: Callable[[], float] = zero_clock, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> Client:
    """A client past startup (trust), nothing in flight, nothing left to send."""
    client = new_client(clock=clock, max_message_size=max_message_size)
    client.receive_data(STARTUP_OK)
    drain(client)
    client.data_to_send()
    assert client.is_idle
    return client


def feed(client: Client, data: bytes) -> list[ev.Event]:
    """Receive `data` and return the events it gives."""
    client.receive_data(data)
    return drain(client)


def steps(client: Client) -> list[Step]:
    """The steps of the requests in flight, oldest first (the client's private queue)."""
    return [pending.step for pending in client._pending]


def complete(tag: str, query: str, args: tuple[object, ...] = ()) -> ev.QueryComplete:
    """A QueryComplete as a zero_clock client reports it."""
    return ev.QueryComplete(tag, query, args, 0.0)


def failed(error: ev.Notice, query: str, args: tuple[object, ...] = ()) -> ev.QueryFailed:
    """A QueryFailed as a zero_clock client reports it."""
    return ev.QueryFailed(error, query, args, 0.0)


# -- the chunking-invariance harness ----------------------------------------------------------------------


@dataclass
class Conversation:
    """What one client made of the server's bytes: its events, the bytes it sent, the ProtocolError if any."""

    events: list[ev.Event]
    sent: bytes
    error: str | None = None
    error_type: type[Exception] | None = None
    #: The client of the first run (the bytes fed whole), to look at its state afterwards.
    client: Client | None = field(default=None, compare=False, repr=False)


Splits = Sequence[int]
React = Callable[[Client, ev.Event], None]


def chunks(data: bytes, cuts: Splits) -> Iterator[bytes]:
    """`data` cut at the given positions (sorted, inside the data)."""
    start = 0
    for cut in cuts:
        yield data[start:cut]
        start = cut
    yield data[start:]


def message_boundaries(data: bytes) -> list[int]:
    """Where each message of `data` ends (as far as its framing can be followed)."""
    cuts, pos = [], 0
    while len(data) - pos >= 5:
        length = int.from_bytes(data[pos + 1 : pos + 5], "big", signed=True)
        if length < 4 or pos + 1 + length >= len(data):
            break
        pos += 1 + length
        cuts.append(pos)
    return cuts


def default_splits(data: bytes, random_runs: int = 25) -> list[Splits]:
    """Whole, one byte at a time, one message at a time, cut in two at every position, and seeded random cuts."""
    size = len(data)
    result: list[Splits] = [[], list(range(1, size)), message_boundaries(data)]
    result.extend([cut] for cut in range(1, size))
    rng = random.Random(size)
    for _ in range(random_runs):
        result.append(sorted(rng.sample(range(1, size), rng.randint(1, max(1, size // 8)))) if size > 1 else [])
    return result


def merge_rows(events: Iterable[ev.Event]) -> list[ev.Event]:
    """Fold consecutive Rows events into one: how many DataRows one event carries depends on the chunking."""
    merged: list[ev.Event] = []
    for event in events:
        previous = merged[-1] if merged else None
        if isinstance(event, ev.Rows) and isinstance(previous, ev.Rows):
            merged[-1] = ev.Rows([*previous.rows, *event.rows])
        else:
            merged.append(event)
    return merged


def _run(make_client: Callable[[], Client], pieces: Iterable[bytes], react: React | None, eof: bool) -> Conversation:
    client = make_client()
    events: list[ev.Event] = []
    sent = [client.data_to_send()]
    try:
        for piece in [*pieces, *([b""] if eof else [])]:
            client.receive_data(piece)
            while (event := client.next_event()) is not NEED_DATA:
                events.append(event)
                if react is not None:
                    react(client, event)
            sent.append(client.data_to_send())
    except ProtocolError as exc:
        sent.append(client.data_to_send())
        return Conversation(merge_rows(events), b"".join(sent), str(exc), type(exc), client)
    return Conversation(merge_rows(events), b"".join(sent), client=client)


def _describe(cuts: Splits, size: int) -> str:
    if list(cuts) == list(range(1, size)):
        return "fed one byte at a time"
    shown = ", ".join(map(str, cuts[:12])) + (", ..." if len(cuts) > 12 else "")
    return f"cut at [{shown}] of {size} bytes"


def _difference(whole: Conversation, cut: Conversation) -> str:
    lines = []
    for i in range(max(len(whole.events), len(cut.events))):
        a = whole.events[i] if i < len(whole.events) else None
        b = cut.events[i] if i < len(cut.events) else None
        if a != b:
            lines.append(f"  event {i}: whole {a!r}\n  event {i}: cut   {b!r}")
            break
    for name in ("sent", "error", "error_type"):
        if getattr(whole, name) != getattr(cut, name):
            lines.append(f"  {name}: whole {getattr(whole, name)!r}\n  {name}: cut   {getattr(cut, name)!r}")
    return "\n".join(lines)


def events_for(
    make_client: Callable[[], Client],
    server_bytes: bytes,
    splits: Iterable[Splits] | None = None,
    *,
    react: React | None = None,
    eof: bool = False,
) -> Conversation:
    """Feed `server_bytes` to fresh clients, whole and cut in every way in `splits`; all must agree.

    Args:
        make_client: a new client for each run, already holding the requests of the conversation.
        server_bytes: what the server sends.
        splits: cut positions, one list per run; by default `default_splits`, which includes every cut
            in two and every message boundary at once.
        react: called with each event as it comes, to send requests that depend on it (COPY data, ...).
        eof: end with receive_data(b"") (the server closed the connection).

    Returns:
        The conversation of the run that got the bytes whole, Rows folded (see `merge_rows`).
    """
    cuttings = list(default_splits(server_bytes) if splits is None else splits)
    first = _run(make_client, [server_bytes], react, eof)
    for cuts in cuttings:
        other = _run(make_client, chunks(server_bytes, cuts), react, eof)
        if other != first:
            raise AssertionError(
                f"{_describe(cuts, len(server_bytes))}, the conversation differs from the bytes fed whole:\n"
                + _difference(first, other)
            )
    return first
