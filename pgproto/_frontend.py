"""Encode client messages: one small pure function per message (docs §55.7), returning bytes."""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

from .errors import InterfaceError

_I32 = struct.Struct("!i")
_HEADER = struct.Struct("!ci")
_NULL = b"\xff\xff\xff\xff"
#: Protocol version 3.0 (docs §55.2.1).
PROTOCOL_VERSION = 3 << 16
#: Special codes sent in place of a protocol version (docs §55.7).
SSL_REQUEST_CODE = 80877103
CANCEL_REQUEST_CODE = 80877102


def _message(kind: bytes, body: bytes) -> bytes:
    return _HEADER.pack(kind, len(body) + 4) + body


def _cstring(text: str, what: str) -> bytes:
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InterfaceError(f"{what} {text!r:.80} cannot be encoded as UTF-8: {exc.reason}") from exc
    if b"\0" in data:
        raise InterfaceError(f"{what} {text!r} contains a NUL character, which PostgreSQL cannot receive")
    return data + b"\0"


def _pack(fmt: str, what: str, *values: int) -> bytes:
    """struct.pack, refusing with InterfaceError what the message's integer fields cannot hold."""
    try:
        return struct.pack(fmt, *values)
    except struct.error as exc:
        raise InterfaceError(f"{what} out of range: {values!r:.80} ({exc})") from exc


def startup_message(params: Mapping[str, str]) -> bytes:
    """StartupMessage: protocol version 3.0 and the session parameters (user is required)."""
    if "" in params:  # an empty name would end the parameter list early (docs §55.7, StartupMessage)
        raise InterfaceError("a startup parameter name cannot be empty")
    body = _I32.pack(PROTOCOL_VERSION) + b"".join(
        _cstring(key, "startup parameter name") + _cstring(value, f"startup parameter {key}")
        for key, value in params.items()
    )
    return _I32.pack(len(body) + 5) + body + b"\0"


def ssl_request() -> bytes:
    """SSLRequest: the server answers with one byte, S (go on with TLS) or N."""
    return _I32.pack(8) + _I32.pack(SSL_REQUEST_CODE)


def cancel_request(pid: int, secret_key: bytes) -> bytes:
    """CancelRequest, sent on a new connection to interrupt the query of session `pid`."""
    body = _I32.pack(CANCEL_REQUEST_CODE) + _I32.pack(pid) + secret_key
    return _I32.pack(len(body) + 4) + body


def password_message(password: bytes) -> bytes:
    """PasswordMessage for cleartext or md5 authentication (`password` already hashed for md5)."""
    if b"\0" in password:
        raise InterfaceError("the password contains a NUL character, which PostgreSQL cannot receive")
    return _message(b"p", password + b"\0")


def sasl_initial_response(mechanism: str, data: bytes) -> bytes:
    """SASLInitialResponse: the chosen mechanism and its first message."""
    return _message(b"p", _cstring(mechanism, "SASL mechanism") + _I32.pack(len(data)) + data)


def sasl_response(data: bytes) -> bytes:
    """SASLResponse: the next SASL message."""
    return _message(b"p", data)


def query(text: str) -> bytes:
    """Query: the simple query protocol, one or more `;`-separated statements."""
    return _message(b"Q", _cstring(text, "query"))


def parse(statement: str, text: str, parameter_oids: Sequence[int] = ()) -> bytes:
    """Parse: prepare `text` as `statement` ("" is the unnamed statement); 0 leaves a type unspecified."""
    return _message(
        b"P",
        _cstring(statement, "statement name")
        + _cstring(text, "query")
        + _pack(f"!h{len(parameter_oids)}I", "Parse parameter types", len(parameter_oids), *parameter_oids),
    )


def bind(
    portal: str,
    statement: str,
    parameter_formats: Sequence[int],
    values: Sequence[bytes | None],
    result_formats: Sequence[int],
) -> bytes:
    """Bind: create `portal` from `statement` with the encoded parameter values (None for NULL)."""
    return bind_values(bind_head(portal, statement, parameter_formats), values, bind_tail(result_formats))


def bind_head(portal: str, statement: str, parameter_formats: Sequence[int]) -> bytes:
    """The part of a Bind before the values, the same for every Bind of a statement (planned once)."""
    return (
        _cstring(portal, "portal name")
        + _cstring(statement, "statement name")
        + _pack(f"!h{len(parameter_formats)}h", "Bind parameter formats", len(parameter_formats), *parameter_formats)
    )


def bind_tail(result_formats: Sequence[int]) -> bytes:
    """The part of a Bind after the values: the result formats."""
    return _pack(f"!h{len(result_formats)}h", "Bind result formats", len(result_formats), *result_formats)


def bind_values(head: bytes, values: Sequence[bytes | None], tail: bytes) -> bytes:
    """Bind from its planned `head` and `tail` (see `bind_head`, `bind_tail`) and the encoded values."""
    parts = [head, _pack("!h", "Bind parameter count", len(values))]
    append = parts.append
    try:
        for value in values:
            if value is None:
                append(_NULL)
            else:
                append(_I32.pack(len(value)))
                append(value)
    except struct.error as exc:
        raise InterfaceError(f"Bind parameter size out of range ({exc})") from exc
    append(tail)
    body = b"".join(parts)
    return _HEADER.pack(b"B", len(body) + 4) + body


def describe_statement(statement: str) -> bytes:
    """Describe a prepared statement: ParameterDescription, then RowDescription or NoData."""
    return _message(b"D", b"S" + _cstring(statement, "statement name"))


def describe_portal(portal: str) -> bytes:
    """Describe a portal: RowDescription or NoData."""
    return _message(b"D", b"P" + _cstring(portal, "portal name"))


def execute(portal: str, max_rows: int = 0) -> bytes:
    """Execute a portal, returning at most `max_rows` rows (0: all)."""
    return _message(b"E", _cstring(portal, "portal name") + _pack("!i", "Execute max_rows", max_rows))


def sync() -> bytes:
    """Sync: end of an extended-query request; the server answers ReadyForQuery."""
    return b"S\x00\x00\x00\x04"


def flush() -> bytes:
    """Flush: ask the server to send what it has produced so far."""
    return b"H\x00\x00\x00\x04"


def close_statement(statement: str) -> bytes:
    """Close a prepared statement."""
    return _message(b"C", b"S" + _cstring(statement, "statement name"))


def close_portal(portal: str) -> bytes:
    """Close a portal."""
    return _message(b"C", b"P" + _cstring(portal, "portal name"))


def copy_data(data: bytes) -> bytes:
    """CopyData: one chunk of COPY FROM STDIN data."""
    return _message(b"d", data)


def copy_done() -> bytes:
    """CopyDone: the end of COPY FROM STDIN data."""
    return b"c\x00\x00\x00\x04"


def copy_fail(reason: str) -> bytes:
    """CopyFail: abort COPY FROM STDIN with this error message."""
    return _message(b"f", _cstring(reason, "CopyFail message"))


def terminate() -> bytes:
    """Terminate: close the session."""
    return b"X\x00\x00\x00\x04"
