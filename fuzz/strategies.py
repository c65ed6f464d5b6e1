"""Generators of backend messages and whole conversations for the fuzz properties, and their mutations.

A generated conversation carries the bytes the server sends *and* the events a correct client emits for
them, so a property can compare the client with an expectation rather than only with another run of itself.
Test code only: nothing here is imported by pgproto.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Final

from hypothesis import strategies as st

from pgproto import Client
from pgproto import events as ev
from pgproto._types import encoder, result_format, text_encode
from pgproto._types import oids as type_oids

# -- raw messages (PostgreSQL docs §55.7 "Message Formats") --------------------------------------------------


def message(kind: bytes, body: bytes = b"") -> bytes:
    """A backend message: its type byte, an Int32 length that counts itself, and the body."""
    return kind + struct.pack("!i", len(body) + 4) + body


def cstring(text: str) -> bytes:
    return text.encode() + b"\0"


def authentication(code: int, extra: bytes = b"") -> bytes:
    return message(b"R", struct.pack("!i", code) + extra)


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstring(name) + cstring(value))


def backend_key_data(pid: int, secret_key: bytes) -> bytes:
    return message(b"K", struct.pack("!i", pid) + secret_key)


def ready_for_query(status: str) -> bytes:
    return message(b"Z", status.encode())


def row_description(columns: Sequence[ev.Column]) -> bytes:
    body = struct.pack("!h", len(columns))
    for c in columns:
        body += cstring(c.name) + struct.pack(
            "!IhIhih", c.table_oid, c.column_number, c.type_oid, c.type_size, c.type_modifier, c.format
        )
    return message(b"T", body)


def data_row(values: Sequence[bytes | None]) -> bytes:
    body = struct.pack("!h", len(values))
    for value in values:
        body += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value
    return message(b"D", body)


def command_complete(tag: str) -> bytes:
    return message(b"C", cstring(tag))


def notice_body(fields: Sequence[tuple[int, str]]) -> bytes:
    return b"".join(bytes([code]) + cstring(value) for code, value in fields) + b"\0"


def notification_response(pid: int, channel: str, payload: str) -> bytes:
    return message(b"A", struct.pack("!i", pid) + cstring(channel) + cstring(payload))


def parameter_description(oids: Sequence[int]) -> bytes:
    # The count is an Int16 that the server writes unsigned (pq_sendint16): up to 65535 parameters.
    return message(b"t", struct.pack(f"!H{len(oids)}I", len(oids), *oids))


def copy_response(kind: bytes, overall: int, formats: Sequence[int]) -> bytes:
    return message(kind, struct.pack(f"!bh{len(formats)}h", overall, len(formats), *formats))


def negotiate_protocol_version(minor: int, options: Sequence[str]) -> bytes:
    return message(b"v", struct.pack("!ii", minor, len(options)) + b"".join(cstring(o) for o in options))


PARSE_COMPLETE: Final = message(b"1")
BIND_COMPLETE: Final = message(b"2")
CLOSE_COMPLETE: Final = message(b"3")
NO_DATA: Final = message(b"n")
PORTAL_SUSPENDED: Final = message(b"s")
EMPTY_QUERY_RESPONSE: Final = message(b"I")
COPY_DONE: Final = message(b"c")

#: Every backend type byte the protocol defines.
BACKEND_KINDS: Final = b"RK23CGHWdcDIEvnNAtS1sZT"

#: ErrorResponse / NoticeResponse field codes and the Notice attribute each fills (docs §55.8), written out
#: here rather than imported, so that a wrong table in the core shows up.
NOTICE_ATTRIBUTES: Final = {
    "S": "severity", "V": "severity_nonlocalized", "C": "sqlstate", "M": "message", "D": "detail",
    "H": "hint", "P": "position", "p": "internal_position", "q": "internal_query", "W": "context",
    "s": "schema_name", "t": "table_name", "c": "column_name", "d": "data_type_name", "n": "constraint_name",
    "F": "server_source_filename", "L": "server_source_line", "R": "server_source_function",
}  # fmt: skip

# -- values ---------------------------------------------------------------------------------------------------

TEXT: Final = type_oids.TEXT
INT4: Final = type_oids.INT4
INT8: Final = type_oids.INT8
BOOL: Final = type_oids.BOOL
FLOAT8: Final = type_oids.FLOAT8
#: The types whose values we generate, encode and expect back, with their pg_type.typlen.
TYPE_SIZES: Final = {TEXT: -1, INT4: 4, INT8: 8, BOOL: 1, FLOAT8: 8}
#: Every OID the codecs know (for columns whose values are garbage: any outcome but a crash is fine).
ALL_OIDS: Final = tuple(
    sorted({v for k, v in vars(type_oids).items() if k.isupper() and isinstance(v, int) and v != 0})
)

_CHARS: Final = st.characters(codec="utf-8", exclude_characters="\0")


def texts(min_size: int = 0, max_size: int = 20) -> st.SearchStrategy[str]:
    """Any Unicode that PostgreSQL can carry in a string field: UTF-8 encodable, no NUL."""
    return st.text(_CHARS, min_size=min_size, max_size=max_size)


def python_values(oid: int) -> st.SearchStrategy[object]:
    """Python values of a column or parameter of type `oid` (one of TYPE_SIZES)."""
    strategies: dict[int, st.SearchStrategy[object]] = {
        TEXT: texts(max_size=30),
        INT4: st.integers(-(2**31), 2**31 - 1),
        INT8: st.integers(-(2**63), 2**63 - 1),
        BOOL: st.booleans(),
        FLOAT8: st.floats(),
    }
    return strategies[oid]


def float_text(value: float) -> bytes:
    """float8out with extra_float_digits=1 (the default since PostgreSQL 12): shortest exact text."""
    if math.isnan(value):
        return b"NaN"
    if math.isinf(value):
        return b"Infinity" if value > 0 else b"-Infinity"
    return repr(value).encode()


def encode_value(oid: int, fmt: int, value: object) -> bytes:
    """The bytes the server sends for `value` of type `oid` in format `fmt` (0 text, 1 binary)."""
    if oid == TEXT:
        assert isinstance(value, str)
        return value.encode()
    if oid == BOOL:
        assert isinstance(value, bool)
        if fmt:
            return b"\x01" if value else b"\x00"
        return b"t" if value else b"f"
    if oid in (INT4, INT8):
        assert isinstance(value, int)
        if fmt:
            return struct.pack("!i" if oid == INT4 else "!q", value)
        return str(value).encode()
    assert oid == FLOAT8 and isinstance(value, float)
    return struct.pack("!d", value) if fmt else float_text(value)


def decode_value(oid: int, fmt: int, data: bytes) -> object:
    """The inverse of `encode_value`, written independently of pgproto's codecs (for Bind parameters)."""
    if oid == BOOL:
        table = {b"\x01": True, b"\x00": False} if fmt else {b"t": True, b"f": False}
        return table[data]
    if oid in (INT4, INT8):
        if fmt:
            assert len(data) == (4 if oid == INT4 else 8)
            return int.from_bytes(data, "big", signed=True)
        return int(data.decode("ascii"))
    if oid == FLOAT8:
        if fmt:
            return float(struct.unpack("!d", data)[0])
        return float(data.decode("ascii"))
    return data.decode()  # text, and anything sent as text


def canonical(value: object) -> object:
    """`value` with floats made comparable (all NaNs equal, -0.0 unlike 0.0) and types kept apart (1 vs True)."""
    if isinstance(value, float):
        return ("nan",) if math.isnan(value) else ("float", struct.pack("!d", value))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, *(canonical(v) for v in value))
    if isinstance(value, dict):
        return ("dict", *sorted((repr(k), canonical(v)) for k, v in value.items()))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, *(canonical(getattr(value, f.name)) for f in dataclasses.fields(value)))
    return (type(value).__name__, value)


def merge_rows(events: Sequence[object]) -> list[object]:
    """Consecutive Rows events folded into one: how many DataRows share an event depends on the reads."""
    merged: list[object] = []
    for event in events:
        if isinstance(event, ev.Rows) and merged and isinstance(merged[-1], ev.Rows):
            merged[-1] = ev.Rows(merged[-1].rows + event.rows)
        else:
            merged.append(event)
    return merged


# -- conversations --------------------------------------------------------------------------------------------


class Unknown:
    """Stands for the events of a request whose answer carries garbage values: anything but a crash is fine."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = Unknown()


@dataclass(frozen=True)
class Call:
    """One request method call on the Client, e.g. Call("query", ("SELECT 1",))."""

    method: str
    args: tuple[object, ...] = ()
    kwargs: tuple[tuple[str, object], ...] = ()

    def apply(self, client: Client) -> None:
        getattr(client, self.method)(*self.args, **dict(self.kwargs))


@dataclass(frozen=True)
class Round:
    """Requests queued together, the server's answer to them, and the events a correct client emits."""

    calls: tuple[Call, ...]
    messages: tuple[bytes, ...]
    events: tuple[object, ...] | Unknown


@dataclass(frozen=True)
class Conversation:
    """A whole session: rounds[0] is the startup; `eof` means the server closes the connection at the end."""

    rounds: tuple[Round, ...]
    eof: bool = False


@dataclass(frozen=True)
class Statement:
    """A statement prepared in an earlier round, that later rounds may execute."""

    name: str
    text: str
    parameter_oids: tuple[int, ...]
    columns: tuple[ev.Column, ...]  # with the format the client chose for its Binds


class _Script:
    """Backend messages, each with the event it produces (or None), appended in order."""

    def __init__(self, draw: st.DrawFn, interleave: bool) -> None:
        self.draw = draw
        self.interleave = interleave
        self.entries: list[tuple[bytes, object | None]] = []
        self.unknown = False

    @property
    def messages(self) -> tuple[bytes, ...]:
        return tuple(data for data, _ in self.entries)

    @property
    def events(self) -> tuple[object, ...]:
        return tuple(event for _, event in self.entries if event is not None)

    def add(self, data: bytes, event: object | None = None) -> None:
        self.entries.append((data, event))

    def extend(self, other: _Script) -> None:
        self.entries += other.entries
        self.unknown = self.unknown or other.unknown

    def maybe_async(self) -> None:
        """Perhaps a notification, a notice or a ParameterStatus: the server may send those at any time."""
        if not self.interleave:
            return
        for data, event in self.draw(st.lists(async_messages(), max_size=2)):
            self.add(data, event)


@st.composite
def async_messages(draw: st.DrawFn) -> tuple[bytes, object]:
    """NotificationResponse, NoticeResponse or ParameterStatus, with its event."""
    kind = draw(st.sampled_from(["notification", "notice", "parameter"]))
    if kind == "notification":
        pid = draw(st.integers(-(2**31), 2**31 - 1))
        channel, payload = draw(texts()), draw(texts(max_size=40))
        return notification_response(pid, channel, payload), ev.Notification(pid, channel, payload)
    if kind == "notice":
        severity = draw(st.sampled_from(["NOTICE", "WARNING", "INFO", "LOG", "DEBUG"]))
        fields, notice = draw(notice_fields(severity))
        return message(b"N", notice_body(fields)), notice
    name, value = draw(texts(min_size=1)), draw(texts())
    return parameter_status(name, value), ev.ParameterStatus(name, value)


@st.composite
def notice_fields(draw: st.DrawFn, severity: str) -> tuple[list[tuple[int, str]], ev.Notice]:
    """The fields of an ErrorResponse or NoticeResponse of `severity`, and the Notice they make."""
    codes = draw(st.lists(st.sampled_from(sorted(set(NOTICE_ATTRIBUTES) - {"S", "V"})), unique=True, max_size=5))
    # S may be localized; V (never localized) comes from servers since 9.6, and is how FATAL is recognized.
    fields: list[tuple[int, str]] = [(ord("S"), draw(st.sampled_from([severity, severity.lower()])))]
    if severity in ("FATAL", "PANIC") or draw(st.booleans()):
        fields.append((ord("V"), severity))
    fields += [(ord(code), draw(texts())) for code in codes]
    if draw(st.booleans()):  # a field code this client does not know is skipped (§55.8)
        fields.insert(draw(st.integers(0, len(fields))), (ord("Y"), draw(texts())))
    notice = ev.Notice(**{NOTICE_ATTRIBUTES[chr(code)]: value for code, value in fields if chr(code) != "Y"})
    return fields, notice


@st.composite
def columns(draw: st.DrawFn, formats: Sequence[int] = (0,), max_size: int = 4) -> tuple[ev.Column, ...]:
    """Columns of our value types, each in one of `formats`."""
    result = []
    for oid in draw(st.lists(st.sampled_from(sorted(TYPE_SIZES)), max_size=max_size)):
        result.append(
            ev.Column(
                name=draw(texts(max_size=10)),
                table_oid=draw(st.integers(0, 2**32 - 1)),
                column_number=draw(st.integers(0, 2**15 - 1)),
                type_oid=oid,
                type_size=TYPE_SIZES[oid],
                type_modifier=draw(st.sampled_from([-1, 0, 4, 2**31 - 1])),
                format=draw(st.sampled_from(formats)),
            )
        )
    return tuple(result)


def described(columns_: Sequence[ev.Column]) -> tuple[ev.Column, ...]:
    """Columns as the client records them for a prepared statement: in the format it asks for in Bind."""
    return tuple(dataclasses.replace(c, format=result_format(c.type_oid)) for c in columns_)


@st.composite
def rows(draw: st.DrawFn, columns_: Sequence[ev.Column], max_size: int = 5) -> list[tuple[object, ...]]:
    """Rows of Python values (None for NULL) for `columns_`."""
    row = st.tuples(*(st.none() | python_values(c.type_oid) for c in columns_))
    return draw(st.lists(row, max_size=max_size))


def _add_rows(script: _Script, columns_: Sequence[ev.Column], rows_: Sequence[tuple[object, ...]]) -> None:
    for row in rows_:
        script.maybe_async()
        values = [None if v is None else encode_value(c.type_oid, c.format, v) for c, v in zip(columns_, row)]
        script.add(data_row(values), ev.Rows([row]))


@st.composite
def error_fields(draw: st.DrawFn, fatal: bool = False) -> tuple[bytes, ev.Notice]:
    """An ErrorResponse, non-fatal unless `fatal`, with the Notice it carries."""
    severity = draw(st.sampled_from(["FATAL", "PANIC"])) if fatal else "ERROR"
    fields, notice = draw(notice_fields(severity))
    return message(b"E", notice_body(fields)), notice


@st.composite
def garbage_values(draw: st.DrawFn) -> bytes:
    """Bytes for a column of any type: random, or text built from the characters the text forms use."""
    return draw(
        st.binary(max_size=40)
        | st.text(st.sampled_from('{}[]()",\\ 0123456789-+.eE:TZNUL=<>xXaf'), max_size=30).map(str.encode)
    )


def _python_values_by_oid() -> dict[int, st.SearchStrategy[object]]:
    """Python values for every scalar type the codecs know, to encode and then damage."""
    o = type_oids
    zones = st.integers(-15 * 3600, 15 * 3600).map(lambda s_: timezone(timedelta(seconds=s_)))
    scalars: dict[int, st.SearchStrategy[object]] = {
        o.INT2: st.integers(-(2**15), 2**15 - 1),
        o.INT4: st.integers(-(2**31), 2**31 - 1),
        o.INT8: st.integers(-(2**63), 2**63 - 1),
        o.OID: st.integers(0, 2**32 - 1),
        o.XID: st.integers(0, 2**32 - 1),
        o.CID: st.integers(0, 2**32 - 1),
        o.FLOAT4: st.floats(width=32),
        o.FLOAT8: st.floats(),
        o.NUMERIC: st.decimals(allow_nan=True, allow_infinity=True),
        o.BOOL: st.booleans(),
        o.BYTEA: st.binary(max_size=20),
        o.CHAR: st.characters(codec="latin-1", exclude_characters="\0"),
        o.UUID: st.uuids(),
        o.DATE: st.dates(),
        o.TIME: st.times(),
        o.TIMETZ: st.times(timezones=zones),
        o.TIMESTAMP: st.datetimes(),
        o.TIMESTAMPTZ: st.datetimes(timezones=zones),
        o.INTERVAL: st.timedeltas(),
    }
    for oid in (o.TEXT, o.VARCHAR, o.BPCHAR, o.NAME, o.XML, o.UNKNOWN, o.JSON, o.JSONB):
        scalars[oid] = texts()
    for element, array in o.ARRAY_OF.items():
        values = st.none() | scalars[element]
        scalars[array] = st.lists(values, max_size=3) | st.lists(
            st.lists(values, min_size=2, max_size=2), min_size=1, max_size=2
        )
    return scalars


_VALUES_BY_OID: Final = _python_values_by_oid()


@st.composite
def near_valid_values(draw: st.DrawFn, oid: int, fmt: int) -> bytes:
    """A value of type `oid` as pgproto's own encoders write it (the server's forms are close), then damaged."""
    value = draw(_VALUES_BY_OID.get(oid, st.none()))
    data = bytearray()
    try:
        if fmt == 1 and encoder(oid)[0] == 1:
            data += encoder(oid)[1](value)
        elif value is not None:
            data += text_encode(value)
    except (TypeError, ValueError, OverflowError):
        pass  # a value the encoder refuses (e.g. a float4 NaN payload): any bytes will do
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        if op == "insert":
            data[at:at] = draw(
                st.binary(min_size=1, max_size=4) | st.sampled_from([b"{", b"}", b",", b'"', b"\\", b"-", b":"])
            )
        elif op == "cut":
            del data[at:]
        elif at < len(data):
            if op == "flip":
                data[at] ^= draw(st.integers(1, 255))
            else:
                del data[at : at + draw(st.integers(1, 4))]
    return bytes(data)


def _garbage_rows(draw: st.DrawFn, script: _Script) -> None:
    """A RowDescription of any known types and formats, and DataRows of garbage: decoders meet bad input."""
    oids = draw(st.lists(st.sampled_from(ALL_OIDS), min_size=1, max_size=3))
    cols = [ev.Column("c", 0, 0, oid, -1, -1, draw(st.sampled_from([0, 1]))) for oid in oids]
    script.add(row_description(cols))
    for _ in range(draw(st.integers(1, 4))):
        values = [draw(st.none() | garbage_values() | near_valid_values(c.type_oid, c.format)) for c in cols]
        script.add(data_row(values))
    script.unknown = True


def copy_chunks() -> st.SearchStrategy[bytes]:
    """CopyData payloads: small, and now and then one past 64 KiB (the buffer collects those in pieces)."""
    big = st.integers(0x10000, 150_000).map(lambda n: bytes(range(256)) * (n // 256) + bytes(n % 256))
    return st.one_of(*[st.binary(max_size=30)] * 15, big)


@st.composite
def simple_query(draw: st.DrawFn, interleave: bool = True, garbage: bool = False) -> tuple[Call, _Script]:
    """A Query of one to three statements and its answer (docs §55.2.2)."""
    text = draw(texts(max_size=30))
    script = _Script(draw, interleave)
    kinds = ["rows", "rows", "command", "empty", "copy_out", "copy_both", "copy_in", "error"] + ["garbage"] * garbage
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(kinds))
        script.maybe_async()
        if kind == "rows":
            # Format 1 is what a FETCH from a BINARY cursor sends through the simple protocol.
            cols = draw(columns(formats=(0, 0, 1)))
            script.add(row_description(cols), ev.RowDescription(cols))
            rows_ = draw(rows(cols))
            _add_rows(script, cols, rows_)
            script.maybe_async()
            tag = f"SELECT {len(rows_)}"
            script.add(command_complete(tag), ev.QueryComplete(tag, text, (), 0.0))
        elif kind == "garbage":
            _garbage_rows(draw, script)
            script.add(command_complete("SELECT 1"))
        elif kind == "command":
            tag = draw(st.sampled_from(["INSERT 0 1", "UPDATE 3", "CREATE TABLE", "SET", "LISTEN", "BEGIN"]))
            script.add(command_complete(tag), ev.QueryComplete(tag, text, (), 0.0))
        elif kind == "empty":
            script.add(EMPTY_QUERY_RESPONSE, ev.QueryComplete("", text, (), 0.0))
        elif kind in ("copy_out", "copy_both"):
            # CopyBothResponse answers START_REPLICATION; the server's side of it is read like COPY OUT.
            overall = draw(st.sampled_from([0, 1]))
            formats = tuple(draw(st.lists(st.just(overall), max_size=3)))
            if kind == "copy_out":
                script.add(copy_response(b"H", overall, formats), ev.CopyOutResponse(overall, formats))
            else:
                script.add(copy_response(b"W", overall, formats), ev.CopyBothResponse(overall, formats))
            for chunk in draw(st.lists(copy_chunks(), max_size=3)):
                script.maybe_async()
                script.add(message(b"d", chunk), ev.CopyData(chunk))
            script.add(COPY_DONE, ev.CopyDone())
            script.add(command_complete("COPY 2"), ev.QueryComplete("COPY 2", text, (), 0.0))
        elif kind == "copy_in":
            overall = draw(st.sampled_from([0, 1]))
            formats = tuple(draw(st.lists(st.just(overall), max_size=3)))
            script.add(copy_response(b"G", overall, formats), ev.CopyInResponse(overall, formats))
            script.maybe_async()
            script.add(command_complete("COPY 0"), ev.QueryComplete("COPY 0", text, (), 0.0))
        else:
            data, notice = draw(error_fields())
            script.add(data, ev.QueryFailed(notice, text, (), 0.0))
            break  # the server skips the rest of the query string
    script.maybe_async()
    status = draw(st.sampled_from("ITE"))
    script.add(ready_for_query(status), ev.ReadyForQuery(status))
    return Call("query", (text,)), script


@st.composite
def prepare(
    draw: st.DrawFn, name: str, interleave: bool = True, fail: bool = True
) -> tuple[Call, _Script, Statement | None]:
    """Parse + Describe (statement) + Sync and the answer; the Statement unless the server refused it."""
    text = draw(texts(max_size=30))
    oids = tuple(draw(st.lists(st.sampled_from(sorted(TYPE_SIZES)), max_size=3)))
    call = Call("prepare", (name, text, draw(st.sampled_from([oids, ()]))))
    script = _Script(draw, interleave)
    outcome = draw(st.sampled_from(["ok", "ok", "ok", "no_data", "parse_error", "describe_error"][: 6 if fail else 4]))
    statement = None
    if outcome == "parse_error":
        data, notice = draw(error_fields())
        script.add(data, ev.QueryFailed(notice, text, (), 0.0))
    else:
        script.add(PARSE_COMPLETE)
        script.maybe_async()
        if outcome == "describe_error":
            data, notice = draw(error_fields())
            script.add(data, ev.QueryFailed(notice, text, (), 0.0))
        else:
            script.add(parameter_description(oids))
            script.maybe_async()
            cols = () if outcome == "no_data" else draw(columns())
            statement = Statement(name, text, oids, described(cols))
            script.add(
                NO_DATA if outcome == "no_data" else row_description(cols),
                ev.StatementPrepared(name, text, oids, statement.columns),
            )
    script.maybe_async()
    status = draw(st.sampled_from("IT"))
    script.add(ready_for_query(status), ev.ReadyForQuery(status))
    return call, script, statement


@st.composite
def execute_prepared(draw: st.DrawFn, statement: Statement, interleave: bool = True) -> tuple[Call, _Script]:
    """Bind + Execute + Sync of a prepared statement, with arguments of its parameter types, and the answer."""
    args = tuple(draw(st.none() | python_values(oid)) for oid in statement.parameter_oids)
    max_rows = draw(st.sampled_from([0, 0, 1, 2, 1000]))
    call = Call("execute_prepared", (statement.name, args), (("max_rows", max_rows),))
    text = statement.text
    script = _Script(draw, interleave)
    outcome = draw(st.sampled_from(["complete", "complete", "suspended", "empty", "bind_error", "error"]))
    if outcome == "bind_error":
        data, notice = draw(error_fields())
        script.add(data, ev.QueryFailed(notice, text, args, 0.0))
    else:
        script.add(BIND_COMPLETE)
        if outcome == "empty":
            script.add(EMPTY_QUERY_RESPONSE, ev.QueryComplete("", text, args, 0.0))
        else:
            rows_ = draw(rows(statement.columns, max_size=max_rows or 5))
            _add_rows(script, statement.columns, rows_)
            script.maybe_async()
            if outcome == "error":
                data, notice = draw(error_fields())
                script.add(data, ev.QueryFailed(notice, text, args, 0.0))
            elif outcome == "suspended" and max_rows:
                script.add(PORTAL_SUSPENDED, ev.PortalSuspended(text, args, 0.0))
            else:
                tag = f"SELECT {len(rows_)}"
                script.add(command_complete(tag), ev.QueryComplete(tag, text, args, 0.0))
    script.maybe_async()
    status = draw(st.sampled_from("ITE"))
    script.add(ready_for_query(status), ev.ReadyForQuery(status))
    return call, script


@st.composite
def execute_prepared_many(draw: st.DrawFn, statement: Statement, interleave: bool = True) -> tuple[Call, _Script]:
    """A batch: Bind + Execute per argument tuple, one Sync, and the answer. Only the last row reports a
    QueryComplete; a failing row reports QueryFailed with its own arguments and the server skips the rest."""
    batch = draw(
        st.lists(
            st.tuples(*(st.none() | python_values(oid) for oid in statement.parameter_oids)), min_size=1, max_size=4
        )
    )
    call = Call("execute_prepared_many", (statement.name, batch))
    text = statement.text
    script = _Script(draw, interleave)
    failing = draw(st.none() | st.integers(0, len(batch) - 1))
    for i, args in enumerate(batch):
        if i == failing and draw(st.booleans()):
            data, notice = draw(error_fields())
            script.add(data, ev.QueryFailed(notice, text, args, 0.0))
            break
        script.add(BIND_COMPLETE)
        rows_ = draw(rows(statement.columns, max_size=3))
        _add_rows(script, statement.columns, rows_)
        script.maybe_async()
        if i == failing:
            data, notice = draw(error_fields())
            script.add(data, ev.QueryFailed(notice, text, args, 0.0))
            break
        tag = f"SELECT {len(rows_)}" if statement.columns else "INSERT 0 1"
        script.add(command_complete(tag), ev.QueryComplete(tag, text, args, 0.0) if i == len(batch) - 1 else None)
    script.maybe_async()
    status = draw(st.sampled_from("ITE"))
    script.add(ready_for_query(status), ev.ReadyForQuery(status))
    return call, script


#: Arguments of a one-shot extended query: sent as text, with types guessed from the Python values.
_EXTENDED_ARGS: Final = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | texts() | st.floats()


@st.composite
def extended_query(draw: st.DrawFn, interleave: bool = True) -> tuple[Call, _Script]:
    """Parse + Bind + Describe (portal) + Execute + Sync, all unnamed, and the answer."""
    text = draw(texts(max_size=30))
    args = tuple(draw(st.lists(_EXTENDED_ARGS, max_size=3)))
    script = _Script(draw, interleave)
    outcome = draw(st.sampled_from(["rows", "rows", "no_data", "parse_error", "error"]))
    if outcome == "parse_error":
        data, notice = draw(error_fields())
        script.add(data, ev.QueryFailed(notice, text, args, 0.0))
    else:
        script.add(PARSE_COMPLETE)
        script.add(BIND_COMPLETE)
        script.maybe_async()
        cols = () if outcome == "no_data" else draw(columns())
        if outcome == "no_data":
            script.add(NO_DATA)
        else:
            script.add(row_description(cols), ev.RowDescription(cols))
        rows_ = draw(rows(cols)) if cols else []
        _add_rows(script, cols, rows_)
        script.maybe_async()
        if outcome == "error":
            data, notice = draw(error_fields())
            script.add(data, ev.QueryFailed(notice, text, args, 0.0))
        else:
            tag = f"SELECT {len(rows_)}" if cols else "UPDATE 0"
            script.add(command_complete(tag), ev.QueryComplete(tag, text, args, 0.0))
    script.maybe_async()
    status = draw(st.sampled_from("ITE"))
    script.add(ready_for_query(status), ev.ReadyForQuery(status))
    return Call("extended_query", (text, args)), script


@st.composite
def close_statement(draw: st.DrawFn, name: str, interleave: bool = True) -> tuple[Call, _Script]:
    script = _Script(draw, interleave)
    script.add(CLOSE_COMPLETE, ev.StatementClosed(name))
    script.maybe_async()
    script.add(ready_for_query("I"), ev.ReadyForQuery("I"))
    return Call("close_statement", (name,)), script


@st.composite
def startup(draw: st.DrawFn, interleave: bool = True) -> Round:
    """What the server sends after the StartupMessage when it trusts us (docs §55.2.1)."""
    script = _Script(draw, interleave)
    if draw(st.booleans()):
        minor = draw(st.integers(0, 2))
        options = tuple(draw(st.lists(texts(max_size=10).map(lambda s: "_pq_." + s), max_size=2)))
        script.add(negotiate_protocol_version(minor, options), ev.ProtocolVersionNegotiated(minor, options))
    script.add(authentication(0), ev.Authenticated())
    params = draw(st.lists(st.tuples(texts(min_size=1), texts()), max_size=4))
    for name, value in [("server_version", "17.2"), ("client_encoding", "UTF8"), *params]:
        script.add(parameter_status(name, value), ev.ParameterStatus(name, value))
    script.maybe_async()
    pid, key = draw(st.integers(-(2**31), 2**31 - 1)), draw(st.binary(min_size=4, max_size=8))
    script.add(backend_key_data(pid, key), ev.BackendKeyData(pid, key))
    script.add(ready_for_query("I"), ev.ReadyForQuery("I"))
    return Round((), script.messages, script.events)


def trusted_startup() -> Round:
    """The shortest valid answer to the StartupMessage: AuthenticationOk, BackendKeyData, ReadyForQuery."""
    return Round(
        (),
        (authentication(0), backend_key_data(1, b"key!"), ready_for_query("I")),
        (ev.Authenticated(), ev.BackendKeyData(1, b"key!"), ev.ReadyForQuery("I")),
    )


def prepared_conversation(text: str, parameter_oids: Sequence[int]) -> Conversation:
    """Startup, then prepare("s1", text) described with these parameter types and no result columns."""
    oids = tuple(parameter_oids)
    prepare_round = Round(
        (Call("prepare", ("s1", text)),),
        (PARSE_COMPLETE, parameter_description(oids), NO_DATA, ready_for_query("I")),
        (ev.StatementPrepared("s1", text, oids, ()), ev.ReadyForQuery("I")),
    )
    return Conversation((trusted_startup(), prepare_round))


STATEMENT_NAMES: Final = ("s1", "s2", "stmt_\u00e9")


@st.composite
def conversations(draw: st.DrawFn, interleave: bool = True, garbage: bool = False) -> Conversation:
    """A session: startup, perhaps a round that prepares statements, then one round of pipelined requests.

    With `garbage`, some results hold values of any type made of random bytes (their events are UNKNOWN);
    with `interleave`, notifications, notices and ParameterStatus come between the other messages.
    """
    rounds = [draw(startup(interleave))]
    statements: list[Statement] = []
    count = draw(st.integers(0, 2))
    if count:
        script = _Script(draw, interleave)
        calls = []
        for name in STATEMENT_NAMES[:count]:
            call, part, statement = draw(prepare(name, interleave, fail=False))
            calls.append(call)
            script.extend(part)
            assert statement is not None
            statements.append(statement)
        rounds.append(Round(tuple(calls), script.messages, script.events))

    kinds = ["query", "extended", "prepare", "close"] + ["execute", "execute", "many"] * bool(statements)
    script = _Script(draw, interleave)
    calls = []
    for i in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(kinds))
        if kind == "query":
            call, part = draw(simple_query(interleave, garbage))
        elif kind == "extended":
            call, part = draw(extended_query(interleave))
        elif kind == "prepare":
            call, part, _ = draw(prepare(f"new{i}", interleave))
        elif kind == "close":
            call, part = draw(close_statement(draw(st.sampled_from(STATEMENT_NAMES)), interleave))
        elif kind == "many":
            call, part = draw(execute_prepared_many(draw(st.sampled_from(statements)), interleave))
        else:
            call, part = draw(execute_prepared(draw(st.sampled_from(statements)), interleave))
        calls.append(call)
        script.extend(part)
    if not calls:
        script.maybe_async()  # idle: only what the server may send at any time
        script.maybe_async()
    ending = draw(st.sampled_from(["none", "none", "eof", "fatal"]))
    if ending == "fatal":
        # A FATAL error ends the session wherever it comes (e.g. pg_terminate_backend).
        del script.entries[draw(st.integers(0, len(script.entries))) :]
        data, notice = draw(error_fields(fatal=True))
        script.add(data, ev.Terminated(notice))
    elif ending == "eof":
        script.add(b"", ev.Terminated(None))  # no bytes: the client says so when told of the EOF
    events: tuple[object, ...] | Unknown = UNKNOWN if script.unknown else script.events
    rounds.append(Round(tuple(calls), tuple(m for m in script.messages if m), events))
    return Conversation(tuple(rounds), eof=ending == "eof")


# -- arbitrary single messages and mutations ------------------------------------------------------------------


@st.composite
def any_backend_message(draw: st.DrawFn) -> bytes:
    """One well-framed backend message of any type with arbitrary contents, valid for its type or nearly so."""
    kind = draw(st.sampled_from(BACKEND_KINDS))
    i16, i32 = st.integers(-(2**15), 2**15 - 1), st.integers(-(2**31), 2**31 - 1)
    if kind == ord("R"):
        code = draw(st.sampled_from([0, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12]) | i32)
        extra = {
            5: st.binary(min_size=4, max_size=4),
            10: st.lists(st.sampled_from(["SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", ""]) | texts(), max_size=3).map(
                lambda names: b"".join(cstring(n) for n in names) + b"\0"
            ),
        }.get(code, st.binary(max_size=12))
        return authentication(code, draw(extra))
    if kind == ord("K"):
        return backend_key_data(draw(i32), draw(st.binary(max_size=12)))
    if kind in b"C":
        return command_complete(draw(texts()))
    if kind in b"GHW":
        return copy_response(
            bytes([kind]), draw(st.integers(0, 1) | st.integers(-128, 127)), draw(st.lists(i16, max_size=4))
        )
    if kind in b"d":
        return message(b"d", draw(st.binary(max_size=20)))
    if kind == ord("D"):
        return data_row(draw(st.lists(st.none() | garbage_values(), max_size=4)))
    if kind in b"EN":
        severity = draw(st.sampled_from(["ERROR", "FATAL", "PANIC", "NOTICE", "WARNING"]))
        fields, _ = draw(notice_fields(severity))
        return message(bytes([kind]), notice_body(fields))
    if kind == ord("v"):
        return negotiate_protocol_version(draw(i32), draw(st.lists(texts(), max_size=3)))
    if kind == ord("A"):
        return notification_response(draw(i32), draw(texts()), draw(texts()))
    if kind == ord("t"):
        return parameter_description(draw(st.lists(st.sampled_from(ALL_OIDS) | st.integers(0, 2**32 - 1), max_size=4)))
    if kind == ord("S"):
        return parameter_status(draw(texts()), draw(texts()))
    if kind == ord("Z"):
        return message(b"Z", draw(st.sampled_from([b"I", b"T", b"E"]) | st.binary(max_size=2)))
    if kind == ord("T"):
        cols = [
            ev.Column(
                draw(texts(max_size=5)),
                draw(st.integers(0, 2**32 - 1)),
                draw(i16),
                draw(st.sampled_from(ALL_OIDS) | st.integers(0, 2**32 - 1)),
                draw(i16),
                draw(i32),
                draw(st.sampled_from([0, 1]) | i16),
            )
            for _ in range(draw(st.integers(0, 3)))
        ]
        return row_description(cols)
    return message(bytes([kind]))  # the messages without a body: 1 2 3 c I n s


#: Int32 / Int16 values that sit on the edges of what a parser checks.
_EDGE_INT32: Final = (
    *(-(2**31), -2, -1, 0, 1, 3, 4, 5, 6, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 100_000, 2**20, 2**30, 2**30 + 1, 2**31 - 1),
)
_EDGE_INT16: Final = (-(2**15), -2, -1, 0, 1, 2, 3, 0x7FFF)


@st.composite
def mutated(draw: st.DrawFn, messages: Sequence[bytes], max_message_size: int) -> bytes:
    """`messages`, changed a little: first whole messages (drop, duplicate, swap, insert, retype, reframe,
    overwrite a field), then raw bytes (flip, set, cut, insert, delete). Random bytes die at the first header;
    these reach every parser and every state."""
    parts = [bytearray(m) for m in messages]
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["drop", "dup", "swap", "insert", "kind", "length", "field", "body"]))
        if op == "insert" or not parts:
            parts.insert(draw(st.integers(0, len(parts))), bytearray(draw(any_backend_message())))
            continue
        i = draw(st.integers(0, len(parts) - 1))
        part = parts[i]
        if op == "drop":
            del parts[i]
        elif op == "dup":
            parts.insert(i, bytearray(part))
        elif op == "swap":
            j = draw(st.integers(0, len(parts) - 1))
            parts[i], parts[j] = parts[j], parts[i]
        elif op == "kind":
            part[0] = draw(st.sampled_from(BACKEND_KINDS) | st.integers(0, 255))
        elif op == "length":
            length = len(part) - 1
            choices = st.sampled_from(
                (*_EDGE_INT32, length - 1, length + 1, max_message_size, max_message_size + 1)
            ) | st.integers(-(2**31), 2**31 - 1)
            part[1:5] = struct.pack("!i", draw(choices))
        elif op == "field" and len(part) > 5:
            # Counts, lengths, format codes and OIDs are Int16 or Int32 somewhere in the body.
            width = draw(st.sampled_from([1, 2, 4]))
            at = draw(st.integers(5, max(5, len(part) - width)))
            value = {
                1: st.integers(0, 255).map(lambda v: bytes([v])),
                2: st.sampled_from(_EDGE_INT16).map(lambda v: struct.pack("!h", v)),
                4: st.sampled_from(_EDGE_INT32).map(lambda v: struct.pack("!i", v)),
            }[width]
            part[at : at + width] = draw(value)
        elif op == "body":
            # Keep the framing right and change the body's size: parsers must check their own bounds.
            body = part[5:]
            cut = draw(st.integers(0, len(body)))
            body = body[:cut] + draw(st.binary(max_size=6))
            part[:] = part[:1] + struct.pack("!i", len(body) + 4) + body
    data = bytearray(b"".join(parts))
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete"]))
        at = draw(st.integers(0, len(data)))
        if op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "cut":
            del data[at:]
        elif at < len(data):
            if op == "flip":
                data[at] ^= draw(st.integers(1, 255))
            elif op == "set":
                data[at] = draw(st.sampled_from([0, 0xFF, 0x7F, 0x80]) | st.integers(0, 255))
            else:
                del data[at : at + draw(st.integers(1, 8))]
    return bytes(data)


def chunkings(max_size: int = 64) -> st.SearchStrategy[tuple[int, ...]]:
    """How to split a stream into reads: () whole, (1,) byte by byte, else these sizes in turn."""
    return st.just(()) | st.just((1,)) | st.lists(st.integers(1, max_size), min_size=1, max_size=8).map(tuple)


def chunks(data: bytes, sizes: Sequence[int]) -> Iterator[bytes]:
    """`data` in reads of `sizes` (cycled); whole when `sizes` is empty."""
    if not sizes:
        if data:
            yield data
        return
    pos, i = 0, 0
    while pos < len(data):
        yield data[pos : pos + sizes[i % len(sizes)]]
        pos += sizes[i % len(sizes)]
        i += 1


DEFAULT_MAX_MESSAGE_SIZE: Final = 1 << 30


@dataclass(frozen=True)
class StreamCase:
    """A client brought to some state with valid bytes, then fed `stream` (mostly a mutated valid answer)."""

    prelude: tuple[Round, ...]
    calls: tuple[Call, ...]
    stream: bytes
    chunks: tuple[int, ...] = ()
    eof: bool = False
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    password: str | None = None


def query_case(stream: bytes, text: str = "SELECT 1", **kwargs: object) -> StreamCase:
    """A StreamCase for hand-written examples: a trusted startup, then a simple Query answered by `stream`."""
    return StreamCase((trusted_startup(),), (Call("query", (text,)),), stream, **kwargs)  # type: ignore[arg-type]


@st.composite
def stream_cases(draw: st.DrawFn) -> StreamCase:
    """A conversation (possibly with garbage values) whose last round is mutated and fed in random reads."""
    conversation = draw(conversations(interleave=draw(st.booleans()), garbage=True))
    *prelude, last = conversation.rounds
    longest_prelude = max(len(m) - 1 for r in prelude for m in r.messages)
    longest = max([len(m) - 1 for m in last.messages], default=0)
    max_message_size = draw(
        st.sampled_from(
            [DEFAULT_MAX_MESSAGE_SIZE, 4096, max(longest, longest_prelude), max(longest - 1, longest_prelude)]
        )
    )
    stream = draw(mutated(last.messages, max_message_size))
    return StreamCase(tuple(prelude), last.calls, stream, draw(chunkings()), conversation.eof, max_message_size)


@st.composite
def startup_cases(draw: st.DrawFn) -> StreamCase:
    """Mutated answers to the StartupMessage, through authentication requests, up to the first ReadyForQuery."""
    script = _Script(draw, draw(st.booleans()))
    auth = draw(st.sampled_from(["trust", "cleartext", "md5", "sasl", "unsupported"]))
    if auth == "cleartext":
        script.add(authentication(3))
    elif auth == "md5":
        script.add(authentication(5, draw(st.binary(min_size=4, max_size=4))))
    elif auth == "sasl":
        script.add(authentication(10, cstring("SCRAM-SHA-256") + b"\0"))
        nonce = draw(st.text(st.sampled_from("abcXYZ+/019"), max_size=10))
        continue_ = f"r={nonce},s=c2FsdA==,i={draw(st.sampled_from([1, 2, 4096]))}".encode()
        script.add(authentication(11, draw(st.just(continue_) | st.binary(max_size=40))))
        script.add(authentication(12, draw(st.just(b"v=c2lnbmF0dXJl") | st.binary(max_size=40))))
    elif auth == "unsupported":
        script.add(authentication(draw(st.sampled_from([2, 6, 7, 8, 9]))))
    rest = draw(startup(interleave=script.interleave))
    for data in rest.messages:
        script.add(data)
        script.maybe_async()
    stream = draw(mutated(script.messages, DEFAULT_MAX_MESSAGE_SIZE))
    password = draw(st.sampled_from(["secret", "p\u00e4ss w\u00f6rd"]) | st.none())
    return StreamCase((), (), stream, draw(chunkings()), draw(st.booleans()), password=password)


@dataclass(frozen=True)
class ValuesCase:
    """A simple query whose result has columns of any known type and format, and damaged values."""

    columns: tuple[ev.Column, ...]
    rows: tuple[tuple[bytes | None, ...], ...]
    chunks: tuple[int, ...] = ()


@st.composite
def values_cases(draw: st.DrawFn) -> ValuesCase:
    oids = draw(st.lists(st.sampled_from(ALL_OIDS), min_size=1, max_size=3))
    cols = tuple(ev.Column(f"c{i}", 0, 0, oid, -1, -1, draw(st.sampled_from([0, 1]))) for i, oid in enumerate(oids))
    value = {c: st.none() | near_valid_values(c.type_oid, c.format) | garbage_values() for c in cols}
    rows_ = tuple(tuple(draw(value[c]) for c in cols) for _ in range(draw(st.integers(1, 4))))
    return ValuesCase(cols, rows_, draw(chunkings()))
