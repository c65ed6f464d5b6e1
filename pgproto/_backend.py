"""Decode one server message (type byte + body) into a frozen wire-message object.

Stateless: names follow the PostgreSQL docs (§55.7 "Message Formats"). DataRow has a faster path in
the client, which decodes values in place; `DataRow` here serves tests and the fuzzer.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ._slots import slot_constructor
from .errors import ProtocolError
from .events import Notice, Notification

_I32 = struct.Struct("!i")
_I16 = struct.Struct("!h")
_U16 = struct.Struct("!H")
_FIELD = struct.Struct("!IhIhih")  # RowDescription field after its name


@dataclass(frozen=True, slots=True)
class AuthenticationOk:
    pass


@dataclass(frozen=True, slots=True)
class AuthenticationCleartextPassword:
    pass


@dataclass(frozen=True, slots=True)
class AuthenticationMD5Password:
    salt: bytes


@dataclass(frozen=True, slots=True)
class AuthenticationSASL:
    mechanisms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuthenticationSASLContinue:
    data: bytes


@dataclass(frozen=True, slots=True)
class AuthenticationSASLFinal:
    data: bytes


@dataclass(frozen=True, slots=True)
class AuthenticationUnsupported:
    """Kerberos, SCM credentials, GSSAPI or SSPI: methods pgproto does not implement."""

    code: int


@dataclass(frozen=True, slots=True)
class BackendKeyData:
    pid: int
    secret_key: bytes


@dataclass(frozen=True, slots=True)
class BindComplete:
    pass


@dataclass(frozen=True, slots=True)
class CloseComplete:
    pass


@dataclass(frozen=True, slots=True)
class CommandComplete:
    tag: str


@dataclass(frozen=True, slots=True)
class CopyInResponse:
    format: int
    column_formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CopyOutResponse:
    format: int
    column_formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CopyBothResponse:
    format: int
    column_formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CopyData:
    data: bytes


@dataclass(frozen=True, slots=True)
class CopyDone:
    pass


@dataclass(frozen=True, slots=True)
class DataRow:
    values: tuple[bytes | None, ...]


@dataclass(frozen=True, slots=True)
class EmptyQueryResponse:
    pass


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    fields: Notice


@dataclass(frozen=True, slots=True)
class NegotiateProtocolVersion:
    newest_minor_version: int
    unrecognized_options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NoData:
    pass


@dataclass(frozen=True, slots=True)
class NoticeResponse:
    fields: Notice


@dataclass(frozen=True, slots=True)
class NotificationResponse:
    pid: int
    channel: str
    payload: str


@dataclass(frozen=True, slots=True)
class ParameterDescription:
    type_oids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ParameterStatus:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class ParseComplete:
    pass


@dataclass(frozen=True, slots=True)
class PortalSuspended:
    pass


@dataclass(frozen=True, slots=True)
class ReadyForQuery:
    transaction_status: str


@dataclass(frozen=True, slots=True)
class FieldDescription:
    name: str
    table_oid: int
    column_number: int
    type_oid: int
    type_size: int
    type_modifier: int
    format: int


@dataclass(frozen=True, slots=True)
class RowDescription:
    fields: tuple[FieldDescription, ...]


BackendMessage = (
    AuthenticationOk
    | AuthenticationCleartextPassword
    | AuthenticationMD5Password
    | AuthenticationSASL
    | AuthenticationSASLContinue
    | AuthenticationSASLFinal
    | AuthenticationUnsupported
    | BackendKeyData
    | BindComplete
    | CloseComplete
    | CommandComplete
    | CopyInResponse
    | CopyOutResponse
    | CopyBothResponse
    | CopyData
    | CopyDone
    | DataRow
    | EmptyQueryResponse
    | ErrorResponse
    | NegotiateProtocolVersion
    | NoData
    | NoticeResponse
    | NotificationResponse
    | ParameterDescription
    | ParameterStatus
    | ParseComplete
    | PortalSuspended
    | ReadyForQuery
    | RowDescription
)

#: The name of each message type byte, for error messages.
MESSAGE_NAMES: Final = {
    ord("R"): "Authentication", ord("K"): "BackendKeyData", ord("2"): "BindComplete",
    ord("3"): "CloseComplete", ord("C"): "CommandComplete", ord("G"): "CopyInResponse",
    ord("H"): "CopyOutResponse", ord("W"): "CopyBothResponse", ord("d"): "CopyData", ord("c"): "CopyDone",
    ord("D"): "DataRow", ord("I"): "EmptyQueryResponse", ord("E"): "ErrorResponse",
    ord("v"): "NegotiateProtocolVersion", ord("n"): "NoData", ord("N"): "NoticeResponse",
    ord("A"): "NotificationResponse", ord("t"): "ParameterDescription", ord("S"): "ParameterStatus",
    ord("1"): "ParseComplete", ord("s"): "PortalSuspended", ord("Z"): "ReadyForQuery",
    ord("T"): "RowDescription",
}  # fmt: skip


class _Reader:
    """Walks a message body, raising ProtocolError (naming the message) when it runs short."""

    __slots__ = ("body", "name", "pos")

    def __init__(self, name: str, body: bytes) -> None:
        self.name, self.body, self.pos = name, body, 0

    def int32(self) -> int:
        (value,) = _I32.unpack_from(self.body, self.pos)
        self.pos += 4
        return int(value)

    def int16(self) -> int:
        (value,) = _I16.unpack_from(self.body, self.pos)
        self.pos += 2
        return int(value)

    def uint16(self) -> int:
        (value,) = _U16.unpack_from(self.body, self.pos)
        self.pos += 2
        return int(value)

    def cstring(self) -> str:
        end = self.body.find(b"\0", self.pos)
        if end < 0:
            raise ProtocolError(f"{self.name} has a string without its terminating NUL at byte {self.pos}")
        value = self.body[self.pos : end].decode("utf-8")
        self.pos = end + 1
        return value

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.body):
            raise ProtocolError(
                f"{self.name} announces {n} bytes at byte {self.pos} but has {len(self.body) - self.pos}"
            )
        value = self.body[self.pos : self.pos + n]
        self.pos += n
        return value

    def rest(self) -> bytes:
        value = self.body[self.pos :]
        self.pos = len(self.body)
        return value

    def end(self) -> None:
        if self.pos != len(self.body):
            raise ProtocolError(f"{self.name} has {len(self.body) - self.pos} unexpected trailing bytes")


def _authentication(r: _Reader) -> BackendMessage:
    code = r.int32()
    message: BackendMessage
    if code == 0:
        message = AuthenticationOk()
    elif code == 3:
        message = AuthenticationCleartextPassword()
    elif code == 5:
        message = AuthenticationMD5Password(r.take(4))
    elif code == 10:
        mechanisms = []
        while (name := r.cstring()) != "":
            mechanisms.append(name)
        message = AuthenticationSASL(tuple(mechanisms))
    elif code == 11:
        message = AuthenticationSASLContinue(r.rest())
    elif code == 12:
        message = AuthenticationSASLFinal(r.rest())
    elif code in (2, 6, 7, 8, 9):
        r.rest()
        message = AuthenticationUnsupported(code)
    else:
        raise ProtocolError(f"Authentication has unknown request code {code}")
    r.end()
    return message


#: ErrorResponse / NoticeResponse field codes (docs §55.8) and the Notice attribute each fills.
NOTICE_FIELDS: Final = {
    ord("S"): "severity", ord("V"): "severity_nonlocalized", ord("C"): "sqlstate", ord("M"): "message",
    ord("D"): "detail", ord("H"): "hint", ord("P"): "position", ord("p"): "internal_position",
    ord("q"): "internal_query", ord("W"): "context", ord("s"): "schema_name", ord("t"): "table_name",
    ord("c"): "column_name", ord("d"): "data_type_name", ord("n"): "constraint_name",
    ord("F"): "server_source_filename", ord("L"): "server_source_line", ord("R"): "server_source_function",
}  # fmt: skip


#: Notice field names by field code letter, for the one-pass parse.
_NOTICE_NAMES_BY_LETTER: Final = {chr(code): name for code, name in NOTICE_FIELDS.items()}
_new_object: Final = object.__new__
_set_attribute: Final = object.__setattr__


def _new_notice(fields: dict[str, str]) -> Notice:
    """`Notice(**fields)`, built by handing it `fields` as its instance dict: the frozen dataclass's
    __init__ pays a generic object.__setattr__ for each of its 18 fields, which made it a third of the
    cost of a NoticeResponse. The class's None defaults stand for the fields not sent; the object is the
    same (type, equality, hash, repr, pickling)."""
    notice = _new_object(Notice)
    _set_attribute(notice, "__dict__", fields)
    return notice


def parse_notice(name: str, body: bytes, pos: int = 0, end: int | None = None) -> Notice:
    """The fields of an ErrorResponse or NoticeResponse body; unknown field codes are ignored (§55.8).

    The body is `body[pos:end]`, so the client can parse a message in place, without copying it out.
    """
    if end is None:
        end = len(body)
    # The common case in one pass: decode the whole body, split at the NULs. Each field is a code and its
    # text, and the body ends with the last field's NUL and the terminator, so a well-formed body splits
    # into the fields and two empty strings. An empty field (p[0] fails) or an unknown code takes the
    # byte-wise walk below, which says what is wrong or skips the unknown field.
    fields: dict[str, str]
    parts = body[pos:end].decode("utf-8", "replace").split("\0")
    if len(parts) >= 2 and parts[-1] == "" and parts[-2] == "":
        del parts[-2:]
        by_letter = _NOTICE_NAMES_BY_LETTER
        fields = {}
        try:
            for part in parts:  # a loop, not a comprehension: one call less per notice on Python 3.11
                fields[by_letter[part[0]]] = part[1:]
        except (KeyError, IndexError):
            pass
        else:
            notice = _new_object(Notice)  # `_new_notice`, inline
            _set_attribute(notice, "__dict__", fields)
            return notice
    fields = {}
    names = NOTICE_FIELDS
    find = body.find
    while True:
        if pos >= end:
            raise ProtocolError(f"{name} is missing its terminating NUL")
        code = body[pos]
        if code == 0:
            break
        stop = find(b"\0", pos + 1, end)
        if stop < 0:
            raise ProtocolError(f"{name} field {chr(code)!r} has no terminating NUL")
        field_name = names.get(code)
        if field_name is not None:
            # Startup errors may come in the server's encoding: keep them readable rather than fail.
            fields[field_name] = body[pos + 1 : stop].decode("utf-8", "replace")
        pos = stop + 1
    if pos + 1 != end:
        raise ProtocolError(f"{name} has {end - pos - 1} unexpected trailing bytes")
    return _new_notice(fields)


def _formats(r: _Reader) -> tuple[int, tuple[int, ...]]:
    overall = r.take(1)[0]
    count = r.int16()
    if count < 0:
        raise ProtocolError(f"{r.name} announces {count} column formats")
    r.take(2 * max(count, 0))  # check the bytes are there before building anything
    r.pos -= 2 * max(count, 0)
    formats = tuple(r.int16() for _ in range(count))
    r.end()
    return overall, formats


def parse_data_row(body: bytes) -> tuple[bytes | None, ...]:
    """The raw column values of a DataRow, None for NULL."""
    r = _Reader("DataRow", body)
    count = r.int16()
    if count < 0:
        raise ProtocolError(f"DataRow announces {count} columns")
    values: list[bytes | None] = []
    for _ in range(count):
        n = r.int32()
        values.append(None if n == -1 else r.take(n))
    r.end()
    return tuple(values)


def parse_row_description(body: bytes) -> tuple[FieldDescription, ...]:
    """The fields of a RowDescription."""
    r = _Reader("RowDescription", body)
    count = r.int16()
    if count < 0:
        raise ProtocolError(f"RowDescription announces {count} fields")
    fields = []
    for _ in range(count):
        name = r.cstring()
        table_oid, column_number, type_oid, type_size, type_modifier, fmt = _FIELD.unpack_from(body, r.pos)
        r.pos += _FIELD.size
        if fmt not in (0, 1):  # §55.7 "Formats and Format Codes": text (0) or binary (1)
            raise ProtocolError(f"RowDescription field {name!r} has format code {fmt}; expected 0 or 1")
        fields.append(FieldDescription(name, table_oid, column_number, type_oid, type_size, type_modifier, fmt))
    r.end()
    return tuple(fields)


def parse_notification(body: bytes, pos: int = 0, end: int | None = None) -> NotificationResponse:
    """A NotificationResponse (`body[pos:end]`, parsed in place): pid, channel, payload."""
    return NotificationResponse(*_notification_fields(body, pos, len(body) if end is None else end))


#: `Notification(pid, channel, payload)`, built fast (see `_slots`).
new_notification: Final = slot_constructor(Notification)


def notification(data: bytes, start: int, end: int) -> Notification:
    """The Notification event of the NotificationResponse body `data[start:end]`, with no wire message
    in between: the client's path for LISTEN floods.

    Raises:
        ProtocolError: as `parse` does for a malformed NotificationResponse.
    """
    try:
        fields = _notification_fields(data, start, end)
    except (struct.error, ValueError, IndexError) as exc:
        raise ProtocolError(f"malformed NotificationResponse: {exc}") from exc
    return new_notification(*fields)


def _notification_fields(body: bytes, pos: int, end: int) -> tuple[int, str, str]:
    if end - pos < 6:  # the body lies within a larger buffer: check its own length, not the buffer's
        raise ProtocolError(f"NotificationResponse of {end - pos} bytes is too short for a pid and two strings")
    (pid,) = _I32.unpack_from(body, pos)
    mid = body.index(b"\0", pos + 4, end)
    stop = body.index(b"\0", mid + 1, end)
    if stop + 1 != end:
        raise ProtocolError(f"NotificationResponse has {end - stop - 1} unexpected trailing bytes")
    return pid, body[pos + 4 : mid].decode("utf-8"), body[mid + 1 : stop].decode("utf-8")


def _empty(message: BackendMessage) -> Callable[[_Reader], BackendMessage]:
    def parse(r: _Reader) -> BackendMessage:
        r.end()
        return message

    return parse


def _parameter_description(r: _Reader) -> BackendMessage:
    # Int16 in the docs, but the server sends up to 65535 parameters: it is unsigned in practice.
    count = r.uint16()
    r.take(4 * count)
    r.pos = 2
    oids = tuple(r.int32() & 0xFFFFFFFF for _ in range(count))
    r.end()
    return ParameterDescription(oids)


def _negotiate_protocol_version(r: _Reader) -> BackendMessage:
    minor = r.int32()
    count = r.int32()
    if count < 0 or count > len(r.body):
        raise ProtocolError(f"NegotiateProtocolVersion announces {count} options")
    options = tuple(r.cstring() for _ in range(count))
    r.end()
    return NegotiateProtocolVersion(minor, options)


def _transaction_status(status: bytes) -> str:
    if status not in (b"I", b"T", b"E"):
        raise ProtocolError(f"ReadyForQuery has transaction status {status!r}; expected b'I', b'T' or b'E'")
    return status.decode()


def _one(r: _Reader, build: Callable[..., BackendMessage], *parts: Callable[[], object]) -> BackendMessage:
    message = build(*(part() for part in parts))
    r.end()
    return message


_PARSERS: Final[dict[int, Callable[[_Reader], BackendMessage]]] = {
    ord("R"): _authentication,
    ord("K"): lambda r: BackendKeyData(r.int32(), r.rest()),
    ord("2"): _empty(BindComplete()),
    ord("3"): _empty(CloseComplete()),
    ord("C"): lambda r: _one(r, CommandComplete, r.cstring),
    ord("G"): lambda r: CopyInResponse(*_formats(r)),
    ord("H"): lambda r: CopyOutResponse(*_formats(r)),
    ord("W"): lambda r: CopyBothResponse(*_formats(r)),
    ord("d"): lambda r: CopyData(r.rest()),
    ord("c"): _empty(CopyDone()),
    ord("D"): lambda r: DataRow(parse_data_row(r.body)),
    ord("I"): _empty(EmptyQueryResponse()),
    ord("E"): lambda r: ErrorResponse(parse_notice("ErrorResponse", r.body)),
    ord("v"): _negotiate_protocol_version,
    ord("n"): _empty(NoData()),
    ord("N"): lambda r: NoticeResponse(parse_notice("NoticeResponse", r.body)),
    ord("A"): lambda r: parse_notification(r.body),
    ord("t"): _parameter_description,
    ord("S"): lambda r: _one(r, ParameterStatus, r.cstring, r.cstring),
    ord("1"): _empty(ParseComplete()),
    ord("s"): _empty(PortalSuspended()),
    ord("Z"): lambda r: _one(r, ReadyForQuery, lambda: _transaction_status(r.take(1))),
    ord("T"): lambda r: RowDescription(parse_row_description(r.body)),
}


#: A faster way to the same message for the shapes the server sends all the time, parsing the body in
#: place (`data[start:end]`, no copy). None means "not the common shape": the general parser above then
#: decodes it, or names what is malformed.
_FastParser = Callable[[bytes, int, int], "BackendMessage | None"]


def _fast_empty(message: BackendMessage) -> _FastParser:
    return lambda data, start, end: message if start == end else None


_READY: Final = {ord(status): ReadyForQuery(status) for status in "ITE"}


def _fast_ready_for_query(data: bytes, start: int, end: int) -> BackendMessage | None:
    return _READY.get(data[start]) if end - start == 1 else None


def _fast_command_complete(data: bytes, start: int, end: int) -> BackendMessage | None:
    stop = end - 1
    if stop < start or data.find(b"\0", start, end) != stop:
        return None
    return CommandComplete(data[start:stop].decode("utf-8"))


_FAST_PARSERS: Final[dict[int, _FastParser]] = {
    ord("2"): _fast_empty(BindComplete()),
    ord("1"): _fast_empty(ParseComplete()),
    ord("3"): _fast_empty(CloseComplete()),
    ord("n"): _fast_empty(NoData()),
    ord("I"): _fast_empty(EmptyQueryResponse()),
    ord("C"): _fast_command_complete,
    ord("Z"): _fast_ready_for_query,
    ord("A"): parse_notification,
    ord("N"): lambda data, start, end: NoticeResponse(parse_notice("NoticeResponse", data, start, end)),
    ord("E"): lambda data, start, end: ErrorResponse(parse_notice("ErrorResponse", data, start, end)),
}


def parse(kind: int, data: bytes, start: int = 0, end: int | None = None) -> BackendMessage:
    """Decode one message, whose body is `data[start:end]` (by default all of `data`).

    Raises:
        ProtocolError: unknown type byte, or a body that does not match its type's format.
    """
    if end is None:
        end = len(data)
    try:
        fast = _FAST_PARSERS.get(kind)
        if fast is not None:
            message = fast(data, start, end)
            if message is not None:
                return message
        name = MESSAGE_NAMES.get(kind)
        parser = _PARSERS.get(kind)
        if parser is None or name is None:
            raise ProtocolError(f"unknown message type {bytes([kind])!r}")
        return parser(_Reader(name, data[start:end]))
    except (struct.error, ValueError, IndexError) as exc:
        raise ProtocolError(f"malformed {MESSAGE_NAMES.get(kind)}: {exc}") from exc
