"""Client conversations from StartupMessage to the first ReadyForQuery: every authentication method."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

import pytest

import pgproto
from pgproto import AuthenticationError, Client, InterfaceError, Phase, ProtocolError
from pgproto import events as ev
from pgproto._auth import ScramSha256

from .helpers import (
    STARTUP_OK,
    TEXT,
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
    complete,
    cstr,
    data_row,
    drain,
    error_notice,
    error_response,
    events_for,
    i32,
    msg,
    negotiate_protocol_version,
    new_client,
    notice_response,
    notification,
    parameter_status,
    password_message,
    query_message,
    ready,
    row_description,
)
from .test_auth import (
    RFC_CLIENT_FINAL,
    RFC_CLIENT_FIRST,
    RFC_NONCE,
    RFC_SERVER_FINAL,
    RFC_SERVER_FIRST,
)

#: The StartupMessage of new_client(): our parameters, the session defaults, then the database.
STARTUP_MESSAGE = (
    i32(8 + len(b"user\0app\0client_encoding\0UTF8\0DateStyle\0ISO\0IntervalStyle\0postgres\0database\0appdb\0\0"))
    + i32(196608)
    + b"user\0app\0client_encoding\0UTF8\0DateStyle\0ISO\0IntervalStyle\0postgres\0database\0appdb\0\0"
)

#: Everything after AuthenticationOk on a typical server.
AFTER_AUTH = (
    parameter_status("server_version", "16.2")
    + parameter_status("client_encoding", "UTF8")
    + backend_key_data(4242, b"\x00\x00\x10\x01")
    + ready()
)
AFTER_AUTH_EVENTS: list[ev.Event] = [
    ev.ParameterStatus("server_version", "16.2"),
    ev.ParameterStatus("client_encoding", "UTF8"),
    ev.BackendKeyData(4242, b"\x00\x00\x10\x01"),
    ev.ReadyForQuery("I"),
]
WRONG_PASSWORD = error_response(
    "FATAL", "28P01", 'password authentication failed for user "app"', server_source_function="auth_failed"
)
WRONG_PASSWORD_NOTICE = error_notice(
    "FATAL", "28P01", 'password authentication failed for user "app"', server_source_function="auth_failed"
)


def test_startup_message_is_queued_on_creation() -> None:
    client = new_client()
    assert client.phase is Phase.STARTING
    assert client.data_to_send() == STARTUP_MESSAGE
    assert client.data_to_send() == b""


def test_startup_parameters() -> None:
    client = Client(user="u", params={"application_name": "test app"})
    body = b"user\0u\0client_encoding\0UTF8\0DateStyle\0ISO\0IntervalStyle\0postgres\0application_name\0test app\0\0"
    assert client.data_to_send() == i32(len(body) + 8) + i32(196608) + body


def test_trust() -> None:
    conversation = events_for(new_client, auth_ok() + AFTER_AUTH)
    assert conversation.events == [ev.Authenticated(), *AFTER_AUTH_EVENTS]
    assert conversation.sent == STARTUP_MESSAGE
    client = conversation.client
    assert client is not None
    assert client.phase is Phase.READY
    assert client.is_ready and client.is_idle and not client.is_closed
    assert client.backend_pid == 4242
    assert client.secret_key == b"\x00\x00\x10\x01"
    assert client.parameters == {"server_version": "16.2", "client_encoding": "UTF8"}
    assert client.transaction_status == "I"


def test_asynchronous_messages_during_startup_arrive_in_order() -> None:
    server = (
        parameter_status("a", "1")
        + notice_response("WARNING", "01000", "before auth")
        + auth_ok()
        + notification(7, "chan", "early")
        + parameter_status("a", "2")
        + backend_key_data(1, b"\0\0\0\1")
        + notice_response("NOTICE", "00000", "after key")
        + ready(b"T")
    )
    conversation = events_for(new_client, server)
    assert conversation.events == [
        ev.ParameterStatus("a", "1"),
        error_notice("WARNING", "01000", "before auth"),
        ev.Authenticated(),
        ev.Notification(7, "chan", "early"),
        ev.ParameterStatus("a", "2"),
        ev.BackendKeyData(1, b"\0\0\0\1"),
        error_notice("NOTICE", "00000", "after key"),
        ev.ReadyForQuery("T"),
    ]
    assert conversation.client is not None
    assert conversation.client.parameters == {"a": "2"}
    assert conversation.client.transaction_status == "T"


def test_cleartext_password() -> None:
    conversation = events_for(lambda: new_client("s3cret pässword"), auth_cleartext() + auth_ok() + AFTER_AUTH)
    assert conversation.events == [ev.Authenticated(), *AFTER_AUTH_EVENTS]
    assert conversation.sent == STARTUP_MESSAGE + msg(b"p", "s3cret pässword".encode() + b"\0")


def test_md5_password() -> None:
    salt = b"\x93\x10\x2f\xe4"
    conversation = events_for(lambda: new_client("secret"), auth_md5(salt) + auth_ok() + AFTER_AUTH)
    inner = hashlib.md5(b"secret" + b"app").hexdigest().encode()
    expected = b"md5" + hashlib.md5(inner + salt).hexdigest().encode()
    assert conversation.events == [ev.Authenticated(), *AFTER_AUTH_EVENTS]
    assert conversation.sent == STARTUP_MESSAGE + password_message(expected)
    assert len(expected) == 35


def sasl_initial_response(data: bytes) -> bytes:
    return msg(b"p", cstr("SCRAM-SHA-256") + i32(len(data)) + data)


SCRAM_SERVER = (
    auth_sasl("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256")
    + auth_sasl_continue(RFC_SERVER_FIRST)
    + auth_sasl_final(RFC_SERVER_FINAL)
    + auth_ok()
    + AFTER_AUTH
)


def test_scram_sha_256_rfc7677(monkeypatch: pytest.MonkeyPatch) -> None:
    # Replay RFC 7677's exchange byte for byte: its nonce, and its user name in the client-first-message.
    monkeypatch.setattr(pgproto._client, "ScramSha256", functools.partial(ScramSha256, nonce=RFC_NONCE, user="user"))
    conversation = events_for(lambda: new_client("pencil"), SCRAM_SERVER)
    assert conversation.events == [ev.Authenticated(), *AFTER_AUTH_EVENTS]
    assert conversation.sent == (
        STARTUP_MESSAGE + sasl_initial_response(RFC_CLIENT_FIRST) + msg(b"p", RFC_CLIENT_FINAL)
    )


def reference_scram(password: bytes, client_first_bare: bytes, server_first: bytes) -> tuple[bytes, bytes]:
    """RFC 5802 §3, written out: (client-final-message, server-final-message)."""
    attrs = dict(part.split(b"=", 1) for part in server_first.split(b","))
    salted = hashlib.pbkdf2_hmac("sha256", password, base64.b64decode(attrs[b"s"]), int(attrs[b"i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    without_proof = b"c=biws,r=" + attrs[b"r"]
    auth_message = client_first_bare + b"," + server_first + b"," + without_proof
    client_signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message, hashlib.sha256).digest()
    proof = bytes(x ^ y for x, y in zip(client_key, client_signature))
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
    return (
        without_proof + b",p=" + base64.b64encode(proof),
        b"v=" + base64.b64encode(server_signature),
    )


def test_scram_sha_256_as_postgresql_does_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # The client's own way: an empty user name (the server takes the StartupMessage's). Only the nonce is fixed.
    monkeypatch.setattr(pgproto._client, "ScramSha256", functools.partial(ScramSha256, nonce=RFC_NONCE))
    client_final, server_final = reference_scram(b"pencil", b"n=,r=" + RFC_NONCE.encode(), RFC_SERVER_FIRST)
    server = (
        auth_sasl("SCRAM-SHA-256")
        + auth_sasl_continue(RFC_SERVER_FIRST)
        + auth_sasl_final(server_final)
        + auth_ok()
        + AFTER_AUTH
    )
    conversation = events_for(lambda: new_client("pencil"), server)
    assert conversation.events == [ev.Authenticated(), *AFTER_AUTH_EVENTS]
    assert conversation.sent == (
        STARTUP_MESSAGE + sasl_initial_response(b"n,,n=,r=" + RFC_NONCE.encode()) + msg(b"p", client_final)
    )


def test_scram_wrong_server_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgproto._client, "ScramSha256", functools.partial(ScramSha256, nonce=RFC_NONCE, user="user"))
    server = (
        auth_sasl("SCRAM-SHA-256")
        + auth_sasl_continue(RFC_SERVER_FIRST)
        + auth_sasl_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjRbjN8=")
        + auth_ok()
        + AFTER_AUTH
    )
    conversation = events_for(lambda: new_client("pencil"), server)
    assert conversation.events == []
    assert conversation.error_type is ProtocolError
    assert conversation.error is not None
    assert "AuthenticationSASLFinal server signature does not match" in conversation.error
    assert conversation.sent == (
        STARTUP_MESSAGE + sasl_initial_response(RFC_CLIENT_FIRST) + msg(b"p", RFC_CLIENT_FINAL)
    )
    client = conversation.client
    assert client is not None
    assert client.phase is Phase.FAILED and client.is_closed
    for _ in range(2):  # h11-style: failed for good, with the first reason
        with pytest.raises(ProtocolError, match="server signature does not match"):
            client.next_event()
        with pytest.raises(ProtocolError, match="server signature does not match"):
            client.receive_data(ready())


def test_scram_authentication_ok_without_server_final(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgproto._client, "ScramSha256", functools.partial(ScramSha256, nonce=RFC_NONCE, user="user"))
    server = auth_sasl("SCRAM-SHA-256") + auth_sasl_continue(RFC_SERVER_FIRST) + auth_ok() + AFTER_AUTH
    conversation = events_for(lambda: new_client("pencil"), server)
    assert conversation.events == []
    assert conversation.error is not None
    assert "AuthenticationOk arrived before the server proved" in conversation.error


@pytest.mark.parametrize(
    ("server", "match"),
    [
        (auth_sasl_continue(RFC_SERVER_FIRST), "AuthenticationSASLContinue before AuthenticationSASL"),
        (auth_sasl_final(RFC_SERVER_FINAL), "AuthenticationSASLFinal before AuthenticationSASL"),
    ],
)
def test_sasl_messages_without_sasl(server: bytes, match: str) -> None:
    conversation = events_for(lambda: new_client("pencil"), server)
    assert conversation.error is not None and match in conversation.error


@pytest.mark.parametrize(
    "request_", [auth_md5(b"salt"), auth_cleartext(), auth_sasl("SCRAM-SHA-256")], ids=["md5", "cleartext", "scram"]
)
def test_wrong_password_terminates(request_: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgproto._client, "ScramSha256", functools.partial(ScramSha256, nonce=RFC_NONCE))
    conversation = events_for(lambda: new_client("wrong"), request_ + WRONG_PASSWORD, eof=True)
    assert conversation.events == [ev.Terminated(WRONG_PASSWORD_NOTICE)]
    termination = conversation.events[0]
    assert isinstance(termination, ev.Terminated) and termination.reason is not None
    assert termination.reason.sqlstate == "28P01"
    client = conversation.client
    assert client is not None
    assert client.is_closed and client.phase is Phase.CLOSED
    with pytest.raises(pgproto.ConnectionDoesNotExistError):
        client.query("SELECT 1")


def test_non_fatal_error_during_startup_terminates() -> None:
    conversation = events_for(new_client, auth_ok() + error_response("ERROR", "XX000", "odd") + ready())
    assert conversation.events == [ev.Authenticated(), ev.Terminated(error_notice("ERROR", "XX000", "odd"))]
    assert conversation.client is not None and conversation.client.phase is Phase.CLOSED


def test_fatal_error_before_authentication() -> None:
    error = error_response("FATAL", "3D000", 'database "appdb" does not exist')
    conversation = events_for(new_client, error)
    assert conversation.events == [ev.Terminated(error_notice("FATAL", "3D000", 'database "appdb" does not exist'))]


def test_password_with_a_nul_is_refused() -> None:
    # PostgreSQL would read the password up to the NUL: refuse it rather than send another password.
    with pytest.raises(InterfaceError, match="NUL"):
        client = new_client("pass\0word")
        client.receive_data(auth_cleartext())
        drain(client)


@pytest.mark.parametrize(
    ("server", "what"),
    [
        (auth_cleartext(), "a cleartext password"),
        (auth_md5(b"salt"), "an md5 password"),
        (auth_sasl("SCRAM-SHA-256"), "a SCRAM-SHA-256 password"),
    ],
)
def test_no_password_given(server: bytes, what: str) -> None:
    conversation = events_for(new_client, server + auth_ok() + AFTER_AUTH)
    assert conversation.events == []
    assert conversation.error_type is AuthenticationError
    assert conversation.error == f"the server asks for {what} for user 'app', but none was given"
    assert conversation.sent == STARTUP_MESSAGE
    client = conversation.client
    assert client is not None
    with pytest.raises(ProtocolError, match="none was given"):
        client.next_event()


@pytest.mark.parametrize(
    ("code", "method"), [(2, "Kerberos V5"), (6, "SCM credentials"), (7, "GSSAPI"), (8, "GSSAPI"), (9, "SSPI")]
)
def test_unsupported_method(code: int, method: str) -> None:
    conversation = events_for(lambda: new_client("secret"), auth(code) + auth_ok() + AFTER_AUTH)
    assert conversation.events == []
    assert conversation.error_type is AuthenticationError
    assert conversation.error is not None and method in conversation.error
    assert conversation.sent == STARTUP_MESSAGE


def test_sasl_without_scram_sha_256() -> None:
    conversation = events_for(lambda: new_client("secret"), auth_sasl("SCRAM-SHA-256-PLUS", "OAUTHBEARER"))
    assert conversation.error_type is AuthenticationError
    assert conversation.error is not None and "SCRAM-SHA-256-PLUS" in conversation.error


def test_negotiate_protocol_version() -> None:
    server = negotiate_protocol_version(0, "_pq_.something") + auth_ok() + AFTER_AUTH
    conversation = events_for(new_client, server)
    assert conversation.events == [
        ev.ProtocolVersionNegotiated(0, ("_pq_.something",)),
        ev.Authenticated(),
        *AFTER_AUTH_EVENTS,
    ]


def test_requests_before_authentication_are_refused() -> None:
    client = new_client()
    with pytest.raises(InterfaceError, match="before authentication"):
        client.query("SELECT 1")
    with pytest.raises(InterfaceError):
        client.prepare("s", "SELECT 1")


def test_query_pipelined_before_the_first_ready_for_query() -> None:
    def make() -> Client:
        client = new_client()
        client.receive_data(auth_ok())
        assert drain(client) == [ev.Authenticated()]
        assert client.phase is Phase.SETTING_UP
        client.query("SELECT 'x'")
        return client

    server = (
        backend_key_data(1, b"\0\0\0\2")
        + ready()
        + row_description(Field("?column?", TEXT))
        + data_row(b"x")
        + command_complete("SELECT 1")
        + ready()
    )
    conversation = events_for(make, server)
    assert conversation.events == [
        ev.BackendKeyData(1, b"\0\0\0\2"),
        ev.ReadyForQuery("I"),
        ev.RowDescription((Field("?column?", TEXT).column(),)),
        ev.Rows([("x",)]),
        complete("SELECT 1", "SELECT 'x'"),
        ev.ReadyForQuery("I"),
    ]
    assert conversation.sent == STARTUP_MESSAGE + query_message("SELECT 'x'")


def test_eof_during_startup() -> None:
    conversation = events_for(new_client, auth_ok() + parameter_status("a", "b") + b"K\0\0", eof=True)
    assert conversation.events == [ev.Authenticated(), ev.ParameterStatus("a", "b"), ev.Terminated(None)]


def test_startup_then_ready_matches_helper() -> None:
    # STARTUP_OK, which the other test modules start from, is a valid trust startup.
    conversation = events_for(new_client, STARTUP_OK)
    assert conversation.events[0] == ev.Authenticated()
    assert conversation.events[-1] == ev.ReadyForQuery("I")
