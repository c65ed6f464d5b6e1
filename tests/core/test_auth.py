"""_auth: md5 hashing and the SCRAM-SHA-256 exchange, against published vectors and independent computation."""

from __future__ import annotations

import base64
import hashlib

import pytest

from pgproto import ProtocolError
from pgproto._auth import MAX_SCRAM_ITERATIONS, ScramPhase, ScramSha256, md5_password, saslprep

# RFC 7677 §3, the example SCRAM-SHA-256 exchange (user "user", password "pencil").
RFC_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC_CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_FIRST = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
RFC_CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
RFC_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def phase(scram: ScramSha256) -> ScramPhase:
    """The exchange's phase, read through a call so that mypy does not narrow it between two steps."""
    return scram.phase


def rfc_scram() -> ScramSha256:
    return ScramSha256("pencil", nonce=RFC_NONCE, user="user")


def test_md5_known_vector() -> None:
    # md5(md5(password + user) + salt), computed here step by step.
    inner = hashlib.md5(b"secretapp").hexdigest()
    expected = "md5" + hashlib.md5(inner.encode() + b"\x01\x02\x03\x04").hexdigest()
    assert md5_password("app", "secret", b"\x01\x02\x03\x04") == expected.encode()


def test_md5_published_value() -> None:
    # The hash PostgreSQL stores for user "postgres", password "postgres" (pg_authid: md5 + md5(pw + user)).
    assert hashlib.md5(b"postgrespostgres").hexdigest() == "3175bce1d3201d16594cebf9d7eb3f9d"
    salt = b"\xaa\xbb\xcc\xdd"
    expected = b"md5" + hashlib.md5(b"3175bce1d3201d16594cebf9d7eb3f9d" + salt).hexdigest().encode()
    assert md5_password("postgres", "postgres", salt) == expected


def test_md5_utf8() -> None:
    inner = hashlib.md5("mötpässé".encode()).hexdigest()
    assert md5_password("é", "mötpäss", b"salt") == b"md5" + hashlib.md5(inner.encode() + b"salt").hexdigest().encode()


def test_scram_rfc7677_exchange() -> None:
    scram = rfc_scram()
    assert phase(scram) is ScramPhase.WAITING_SERVER_FIRST
    assert scram.client_first() == RFC_CLIENT_FIRST
    assert scram.client_final(RFC_SERVER_FIRST) == RFC_CLIENT_FINAL
    assert phase(scram) is ScramPhase.WAITING_SERVER_FINAL
    scram.verify_server_final(RFC_SERVER_FINAL)
    assert phase(scram) is ScramPhase.DONE


def test_scram_sends_an_empty_user_name_by_default() -> None:
    # PostgreSQL ignores the SCRAM user name and uses the StartupMessage's (docs §55.3.1), as libpq does.
    assert ScramSha256("pencil", nonce="abc").client_first() == b"n,,n=,r=abc"


def test_scram_user_name_is_escaped() -> None:
    assert ScramSha256("x", nonce="abc", user="a=b,c").client_first() == b"n,,n=a=3Db=2Cc,r=abc"


def test_scram_random_nonce() -> None:
    first, second = ScramSha256("pencil").client_first(), ScramSha256("pencil").client_first()
    assert first != second
    assert first.startswith(b"n,,n=,r=")
    assert len(first) > len(b"n,,n=,r=") + 20


def test_scram_wrong_server_signature() -> None:
    scram = rfc_scram()
    scram.client_final(RFC_SERVER_FIRST)
    with pytest.raises(ProtocolError, match="AuthenticationSASLFinal server signature does not match"):
        scram.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjRbjN8=")
    assert phase(scram) is ScramPhase.WAITING_SERVER_FINAL


def test_scram_wrong_password_gives_a_different_proof() -> None:
    scram = ScramSha256("pencil2", nonce=RFC_NONCE, user="user")
    assert scram.client_final(RFC_SERVER_FIRST) != RFC_CLIENT_FINAL


@pytest.mark.parametrize(
    ("server_first", "match"),
    [
        (b"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "does not extend the client's nonce"),
        (b"r=somebodyelse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "does not extend the client's nonce"),
        (b"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", "0 SCRAM iterations"),
        (
            b"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=" + str(MAX_SCRAM_ITERATIONS + 1).encode(),
            "SCRAM iterations",
        ),
        (b"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==", "malformed server-first-message"),
        (b"r=rOprNGfwEbeRWgbNEkqOxyz,s=not base64!,i=4096", "malformed server-first-message"),
        (b"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=many", "malformed server-first-message"),
        (b"garbage", "malformed server-first-message"),
        (b"\xff\xfe", "malformed server-first-message"),
    ],
)
def test_scram_bad_server_first(server_first: bytes, match: str) -> None:
    scram = rfc_scram()
    with pytest.raises(ProtocolError, match=match) as info:
        scram.client_final(server_first)
    assert "AuthenticationSASLContinue" in str(info.value)


@pytest.mark.parametrize(
    ("server_final", "match"),
    [
        (b"e=invalid-proof", "SCRAM error 'invalid-proof'"),
        (b"x=1", "no valid server signature"),
        (b"v=***", "no valid server signature"),
        (b"nonsense", "malformed server-final-message"),
        (b"v=" + base64.b64encode(bytes(32)), "does not match"),
    ],
)
def test_scram_bad_server_final(server_final: bytes, match: str) -> None:
    scram = rfc_scram()
    scram.client_final(RFC_SERVER_FIRST)
    with pytest.raises(ProtocolError, match=match) as info:
        scram.verify_server_final(server_final)
    assert "AuthenticationSASLFinal" in str(info.value)


def test_scram_messages_out_of_order() -> None:
    scram = rfc_scram()
    with pytest.raises(ProtocolError, match="unexpected AuthenticationSASLFinal"):
        scram.verify_server_final(RFC_SERVER_FINAL)
    scram.client_final(RFC_SERVER_FIRST)
    with pytest.raises(ProtocolError, match="unexpected AuthenticationSASLContinue"):
        scram.client_final(RFC_SERVER_FIRST)


@pytest.mark.parametrize(
    ("password", "prepared"),
    [
        ("pencil", "pencil"),
        ("I\u00adX", "IX"),  # RFC 4013 §3 examples: soft hyphen mapped to nothing
        ("user", "user"),
        ("USER", "USER"),
        ("\u00aa", "a"),  # NFKC
        ("\u2168", "IX"),
        ("a\u00a0b", "a b"),  # non-ASCII space mapped to space
        ("\u0007", "\u0007"),  # prohibited: like libpq, use the raw password
        ("\u0627\u0031", "\u0627\u0031"),  # bidi rule broken: raw password
    ],
)
def test_saslprep(password: str, prepared: str) -> None:
    assert saslprep(password) == prepared
