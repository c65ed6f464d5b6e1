"""_backend.parse: every server message decoded from hand-written bytes, and malformed bodies refused."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from pgproto import ProtocolError
from pgproto import _backend as b
from pgproto.events import Notice

from .helpers import (
    BIND_COMPLETE,
    CLOSE_COMPLETE,
    COPY_DONE,
    EMPTY_QUERY_RESPONSE,
    NO_DATA,
    PARSE_COMPLETE,
    PORTAL_SUSPENDED,
    Field,
    auth,
    auth_cleartext,
    auth_md5,
    auth_ok,
    auth_sasl,
    auth_sasl_continue,
    auth_sasl_final,
    backend_key_data,
    command_complete,
    copy_both_response,
    copy_data,
    copy_in_response,
    copy_out_response,
    cstr,
    data_row,
    error_response,
    i16,
    i32,
    msg,
    negotiate_protocol_version,
    notice_fields,
    notice_response,
    notification,
    parameter_description,
    parameter_status,
    ready,
    row_description,
    u32,
)


def parse(message: bytes) -> b.BackendMessage:
    """Decode one framed message, as the client does after the buffer cut it out."""
    assert int.from_bytes(message[1:5], "big") == len(message) - 1
    return b.parse(message[0], message[5:])


WELL_FORMED: list[tuple[str, bytes, b.BackendMessage]] = [
    ("AuthenticationOk", auth_ok(), b.AuthenticationOk()),
    ("AuthenticationCleartextPassword", auth_cleartext(), b.AuthenticationCleartextPassword()),
    ("AuthenticationMD5Password", auth_md5(b"\x01\x02\x03\x04"), b.AuthenticationMD5Password(b"\x01\x02\x03\x04")),
    (
        "AuthenticationSASL",
        auth_sasl("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"),
        b.AuthenticationSASL(("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256")),
    ),
    ("AuthenticationSASL none", auth_sasl(), b.AuthenticationSASL(())),
    (
        "AuthenticationSASLContinue",
        auth_sasl_continue(b"r=abc,s=c2FsdA==,i=4096"),
        b.AuthenticationSASLContinue(b"r=abc,s=c2FsdA==,i=4096"),
    ),
    ("AuthenticationSASLFinal", auth_sasl_final(b"v=c2ln"), b.AuthenticationSASLFinal(b"v=c2ln")),
    ("AuthenticationKerberosV5", auth(2), b.AuthenticationUnsupported(2)),
    ("AuthenticationSCMCredential", auth(6), b.AuthenticationUnsupported(6)),
    ("AuthenticationGSS", auth(7), b.AuthenticationUnsupported(7)),
    ("AuthenticationGSSContinue", auth(8, b"token"), b.AuthenticationUnsupported(8)),
    ("AuthenticationSSPI", auth(9), b.AuthenticationUnsupported(9)),
    ("BackendKeyData", backend_key_data(1234, b"\xde\xad\xbe\xef"), b.BackendKeyData(1234, b"\xde\xad\xbe\xef")),
    ("BackendKeyData long key (3.2)", backend_key_data(7, bytes(32)), b.BackendKeyData(7, bytes(32))),
    ("BindComplete", BIND_COMPLETE, b.BindComplete()),
    ("CloseComplete", CLOSE_COMPLETE, b.CloseComplete()),
    ("CommandComplete", command_complete("INSERT 0 1"), b.CommandComplete("INSERT 0 1")),
    ("CopyInResponse", copy_in_response(0, 0, 0), b.CopyInResponse(0, (0, 0))),
    ("CopyOutResponse", copy_out_response(1, 1, 1, 1), b.CopyOutResponse(1, (1, 1, 1))),
    ("CopyOutResponse no columns", copy_out_response(0), b.CopyOutResponse(0, ())),
    ("CopyBothResponse", copy_both_response(1), b.CopyBothResponse(1, ())),
    ("CopyData", copy_data(b"1\tone\n"), b.CopyData(b"1\tone\n")),
    ("CopyData empty", copy_data(b""), b.CopyData(b"")),
    ("CopyDone", COPY_DONE, b.CopyDone()),
    ("DataRow", data_row(b"1", None, b""), b.DataRow((b"1", None, b""))),
    ("DataRow no columns", data_row(), b.DataRow(())),
    ("EmptyQueryResponse", EMPTY_QUERY_RESPONSE, b.EmptyQueryResponse()),
    (
        "ErrorResponse",
        error_response("ERROR", "42P01", 'relation "nope" does not exist', position="15"),
        b.ErrorResponse(
            Notice(
                severity="ERROR",
                severity_nonlocalized="ERROR",
                sqlstate="42P01",
                message='relation "nope" does not exist',
                position="15",
            )
        ),
    ),
    (
        "NegotiateProtocolVersion",
        negotiate_protocol_version(0, "_pq_.compression", "_pq_.other"),
        b.NegotiateProtocolVersion(0, ("_pq_.compression", "_pq_.other")),
    ),
    ("NegotiateProtocolVersion no options", negotiate_protocol_version(1), b.NegotiateProtocolVersion(1, ())),
    ("NoData", NO_DATA, b.NoData()),
    (
        "NoticeResponse",
        notice_response("WARNING", "01000", "careful", detail="d", hint="h"),
        b.NoticeResponse(
            Notice(
                severity="WARNING",
                severity_nonlocalized="WARNING",
                sqlstate="01000",
                message="careful",
                detail="d",
                hint="h",
            )
        ),
    ),
    ("NotificationResponse", notification(99, "chan", "payload ☃"), b.NotificationResponse(99, "chan", "payload ☃")),
    ("NotificationResponse empty payload", notification(1, "c", ""), b.NotificationResponse(1, "c", "")),
    ("ParameterDescription", parameter_description(23, 25, 4294967295), b.ParameterDescription((23, 25, 4294967295))),
    ("ParameterDescription none", parameter_description(), b.ParameterDescription(())),
    # Found by fuzz/test_parser.py: counts above 32767 are valid (the server allows 65535 parameters).
    ("ParameterDescription 40000", parameter_description(*[23] * 40000), b.ParameterDescription((23,) * 40000)),
    ("ParameterStatus", parameter_status("TimeZone", "Europe/Paris"), b.ParameterStatus("TimeZone", "Europe/Paris")),
    ("ParseComplete", PARSE_COMPLETE, b.ParseComplete()),
    ("PortalSuspended", PORTAL_SUSPENDED, b.PortalSuspended()),
    ("ReadyForQuery idle", ready(b"I"), b.ReadyForQuery("I")),
    ("ReadyForQuery in transaction", ready(b"T"), b.ReadyForQuery("T")),
    ("ReadyForQuery failed transaction", ready(b"E"), b.ReadyForQuery("E")),
    (
        "RowDescription",
        row_description(
            Field("id", 23, 1, table_oid=16384, column_number=1, type_size=4),
            Field("name", 1043, 0, table_oid=16384, column_number=2, type_modifier=68),
        ),
        b.RowDescription(
            (
                b.FieldDescription("id", 16384, 1, 23, 4, -1, 1),
                b.FieldDescription("name", 16384, 2, 1043, -1, 68, 0),
            )
        ),
    ),
    ("RowDescription no fields", row_description(), b.RowDescription(())),
]


@pytest.mark.parametrize(("message", "expected"), [w[1:] for w in WELL_FORMED], ids=[w[0] for w in WELL_FORMED])
def test_parse(message: bytes, expected: b.BackendMessage) -> None:
    assert parse(message) == expected


def test_every_message_type_is_covered() -> None:
    covered = {type(expected) for _, _, expected in WELL_FORMED}
    assert covered == set(b.BackendMessage.__args__)
    assert {message[0] for _, message, _ in WELL_FORMED} == set(b.MESSAGE_NAMES)


def test_notice_keeps_every_known_field_and_ignores_unknown_codes() -> None:
    fields = {f.name: f"value of {f.name}" for f in dataclasses.fields(Notice)}
    body = notice_fields(**fields)
    body = b"Xunknown field\0" + body  # §55.8: unknown field codes are to be ignored
    notice = b.parse_notice("NoticeResponse", body)
    assert notice.as_dict() == fields


def test_a_parsed_notice_is_an_ordinary_notice() -> None:
    # parse_notice hands the Notice its field dict (the fast way): the object must be the one Notice(...) builds.
    notice = b.parse_notice("NoticeResponse", notice_fields(severity="NOTICE", message="hi"))
    expected = Notice(severity="NOTICE", message="hi")
    assert type(notice) is Notice
    assert notice == expected and hash(notice) == hash(expected) and repr(notice) == repr(expected)
    assert pickle.loads(pickle.dumps(notice)) == expected
    with pytest.raises(dataclasses.FrozenInstanceError):
        notice.message = "changed"  # type: ignore[misc]  # checking that it is refused


def test_notice_fields_in_a_broken_encoding_stay_readable() -> None:
    body = b"SFATAL\0M\xe9chec\0\0"  # latin-1 from a server that has not switched to UTF-8 yet
    message = b.parse(ord("E"), body)
    assert isinstance(message, b.ErrorResponse)
    assert message.fields.message == "\ufffdchec"


MALFORMED: list[tuple[str, bytes, str]] = [
    # (id, framed message, what the ProtocolError must mention)
    ("unknown type byte", msg(b"?", b""), "unknown message type b'?'"),
    ("unknown type byte x", msg(b"x", b"abc"), "unknown message type b'x'"),
    ("Authentication empty", msg(b"R"), "Authentication"),
    ("Authentication short code", msg(b"R", b"\0\0"), "Authentication"),
    ("Authentication unknown code", auth(4), "Authentication has unknown request code 4"),
    ("AuthenticationOk trailing", auth(0, b"\0"), "Authentication has 1 unexpected trailing bytes"),
    ("AuthenticationCleartextPassword trailing", auth(3, b"xx"), "Authentication has 2 unexpected trailing"),
    ("AuthenticationMD5Password short salt", auth_md5(b"\1\2\3"), "Authentication"),
    ("AuthenticationMD5Password long salt", auth_md5(b"\1\2\3\4\5"), "Authentication has 1 unexpected trailing"),
    ("AuthenticationSASL missing list end", auth(10, b"SCRAM-SHA-256\0"), "Authentication"),
    ("AuthenticationSASL missing NUL", auth(10, b"SCRAM-SHA-256"), "Authentication"),
    ("AuthenticationSASL trailing", auth(10, b"SCRAM-SHA-256\0\0x"), "Authentication has 1 unexpected trailing"),
    ("BackendKeyData truncated", msg(b"K", b"\0\0\1"), "BackendKeyData"),
    ("BindComplete trailing", msg(b"2", b"\0"), "BindComplete has 1 unexpected trailing"),
    ("CloseComplete trailing", msg(b"3", b"x"), "CloseComplete"),
    ("CommandComplete missing NUL", msg(b"C", b"SELECT 1"), "CommandComplete"),
    ("CommandComplete trailing", msg(b"C", b"SELECT 1\0x"), "CommandComplete has 1 unexpected trailing"),
    ("CommandComplete bad UTF-8", msg(b"C", b"SELECT \xff\0"), "CommandComplete"),
    ("CopyInResponse empty", msg(b"G"), "CopyInResponse"),
    ("CopyInResponse truncated count", msg(b"G", b"\0\0"), "CopyInResponse"),
    ("CopyInResponse too few formats", msg(b"G", b"\0" + i16(2) + i16(0)), "CopyInResponse"),
    ("CopyInResponse trailing", msg(b"G", b"\0" + i16(1) + i16(0) + b"\0"), "CopyInResponse"),
    ("CopyInResponse negative count", msg(b"G", b"\0" + i16(-1)), "CopyInResponse"),
    ("CopyOutResponse too few formats", msg(b"H", b"\0" + i16(3) + i16(0)), "CopyOutResponse"),
    ("CopyOutResponse negative count", msg(b"H", b"\0" + i16(-2)), "CopyOutResponse"),
    ("CopyBothResponse truncated", msg(b"W", b"\0\0"), "CopyBothResponse"),
    ("CopyDone trailing", msg(b"c", b"\0"), "CopyDone"),
    ("DataRow empty", msg(b"D"), "DataRow"),
    ("DataRow truncated count", msg(b"D", b"\0"), "DataRow"),
    ("DataRow missing values", msg(b"D", i16(2) + i32(1) + b"x"), "DataRow"),
    ("DataRow value runs past the end", msg(b"D", i16(1) + i32(5) + b"abc"), "DataRow"),
    ("DataRow truncated value length", msg(b"D", i16(1) + b"\0\0"), "DataRow"),
    ("DataRow negative value length", msg(b"D", i16(1) + i32(-2)), "DataRow"),
    ("DataRow trailing", msg(b"D", i16(1) + i32(1) + b"ab"), "DataRow has 1 unexpected trailing"),
    ("DataRow negative count", msg(b"D", i16(-1)), "DataRow"),
    ("EmptyQueryResponse trailing", msg(b"I", b"\0"), "EmptyQueryResponse"),
    ("ErrorResponse empty", msg(b"E"), "ErrorResponse is missing its terminating NUL"),
    ("ErrorResponse field missing NUL", msg(b"E", b"SERROR"), "ErrorResponse field 'S' has no terminating NUL"),
    ("ErrorResponse missing final NUL", msg(b"E", b"SERROR\0"), "ErrorResponse is missing its terminating NUL"),
    ("ErrorResponse trailing", msg(b"E", b"SERROR\0\0x"), "ErrorResponse has 1 unexpected trailing"),
    ("NegotiateProtocolVersion truncated", msg(b"v", i32(0)), "NegotiateProtocolVersion"),
    (
        "NegotiateProtocolVersion too few options",
        msg(b"v", i32(0) + i32(2) + cstr("_pq_.a")),
        "NegotiateProtocolVersion",
    ),
    ("NegotiateProtocolVersion negative count", msg(b"v", i32(0) + i32(-1)), "NegotiateProtocolVersion"),
    ("NegotiateProtocolVersion huge count", msg(b"v", i32(0) + i32(2**31 - 1)), "NegotiateProtocolVersion"),
    ("NegotiateProtocolVersion trailing", msg(b"v", i32(0) + i32(0) + b"x"), "NegotiateProtocolVersion"),
    ("NoData trailing", msg(b"n", b"\0"), "NoData"),
    ("NoticeResponse empty", msg(b"N"), "NoticeResponse is missing its terminating NUL"),
    ("NoticeResponse trailing", msg(b"N", b"Mx\0\0\0"), "NoticeResponse has 1 unexpected trailing"),
    ("NotificationResponse truncated pid", msg(b"A", b"\0\0"), "NotificationResponse"),
    ("NotificationResponse missing NULs", msg(b"A", i32(1) + b"chan"), "NotificationResponse"),
    ("NotificationResponse missing payload NUL", msg(b"A", i32(1) + b"chan\0pay"), "NotificationResponse"),
    ("NotificationResponse trailing", msg(b"A", i32(1) + b"c\0p\0x"), "NotificationResponse has 1 unexpected"),
    ("NotificationResponse bad UTF-8", msg(b"A", i32(1) + b"c\xff\0p\0"), "NotificationResponse"),
    ("NotificationResponse a third string", msg(b"A", i32(1) + b"c\0p\0x\0"), "NotificationResponse has 2 unexpected"),
    ("NoticeResponse field without NUL", msg(b"N", b"SNOTICE\0Mhi"), "field 'M' has no terminating NUL"),
    ("ParameterDescription empty", msg(b"t"), "ParameterDescription"),
    ("ParameterDescription too few oids", msg(b"t", i16(2) + u32(23)), "ParameterDescription"),
    ("ParameterDescription trailing", msg(b"t", i16(1) + u32(23) + b"\0"), "ParameterDescription"),
    ("ParameterDescription 65535 announced, none sent", msg(b"t", i16(-1)), "ParameterDescription"),
    ("ParameterStatus missing value", msg(b"S", cstr("a")), "ParameterStatus"),
    ("ParameterStatus missing NUL", msg(b"S", b"a\0b"), "ParameterStatus"),
    ("ParameterStatus trailing", msg(b"S", b"a\0b\0c"), "ParameterStatus has 1 unexpected trailing"),
    ("ParseComplete trailing", msg(b"1", b"\0"), "ParseComplete"),
    ("PortalSuspended trailing", msg(b"s", b"\0"), "PortalSuspended"),
    ("ReadyForQuery empty", msg(b"Z"), "ReadyForQuery"),
    ("ReadyForQuery bad status", msg(b"Z", b"X"), "ReadyForQuery has transaction status b'X'"),
    ("ReadyForQuery lowercase status", msg(b"Z", b"i"), "ReadyForQuery has transaction status b'i'"),
    ("ReadyForQuery trailing", msg(b"Z", b"II"), "ReadyForQuery has 1 unexpected trailing"),
    ("RowDescription empty", msg(b"T"), "RowDescription"),
    ("RowDescription negative count", msg(b"T", i16(-1)), "RowDescription announces -1 fields"),
    ("RowDescription missing field", msg(b"T", i16(1)), "RowDescription"),
    ("RowDescription name missing NUL", msg(b"T", i16(1) + b"id"), "RowDescription"),
    ("RowDescription truncated field", msg(b"T", i16(1) + b"id\0" + bytes(17)), "RowDescription"),
    (
        "RowDescription trailing",
        msg(b"T", row_description(Field("a", 23))[5:] + b"\0"),
        "RowDescription has 1 unexpected trailing",
    ),
    ("RowDescription bad format code", row_description(Field("a", 23, format=2)), "RowDescription"),
]


@pytest.mark.parametrize(("message", "expected"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed(message: bytes, expected: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse(message)
    assert expected in str(info.value)
    # Whatever went wrong, the message names the protocol message (or the unknown type byte).
    name = b.MESSAGE_NAMES.get(message[0], repr(message[:1]))
    assert name in str(info.value)


def test_decoding_errors_are_chained() -> None:
    with pytest.raises(ProtocolError) as info:
        b.parse(ord("C"), b"SELECT \xff\0")
    assert isinstance(info.value.__cause__, UnicodeDecodeError)


def test_parse_data_row_and_row_description_helpers() -> None:
    assert b.parse_data_row(i16(2) + i32(-1) + i32(2) + b"ok") == (None, b"ok")
    assert b.parse_row_description(row_description(Field("x", 25))[5:]) == (
        b.FieldDescription("x", 0, 0, 25, -1, -1, 0),
    )
