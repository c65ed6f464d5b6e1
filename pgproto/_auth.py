"""Password hashing for md5 authentication, and SCRAM-SHA-256 (RFC 5802, RFC 7677) as a small object.

Pure computation: the nonce is injectable so that published test vectors can be replayed.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import stringprep
import unicodedata
from typing import Final

from .errors import ProtocolError

#: The highest SCRAM iteration count we agree to compute: the server picks it, so it is capped.
MAX_SCRAM_ITERATIONS: Final = 1_000_000
SCRAM_SHA_256: Final = "SCRAM-SHA-256"


def md5_password(user: str, password: str, salt: bytes) -> bytes:
    """The PasswordMessage body for AuthenticationMD5Password: "md5" + md5(md5(password + user) + salt)."""
    inner = hashlib.md5(password.encode() + user.encode()).hexdigest().encode()
    return b"md5" + hashlib.md5(inner + salt).hexdigest().encode()


def saslprep(password: str) -> str:
    """RFC 4013 SASLprep of a password; like libpq, fall back to the raw password when it is not valid."""
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch for ch in password if not stringprep.in_table_b1(ch)
    )
    normalized = unicodedata.normalize("NFKC", mapped)
    prohibited = (
        stringprep.in_table_c12, stringprep.in_table_c21_c22, stringprep.in_table_c3, stringprep.in_table_c4,
        stringprep.in_table_c5, stringprep.in_table_c6, stringprep.in_table_c7, stringprep.in_table_c8,
        stringprep.in_table_c9, stringprep.in_table_a1,
    )  # fmt: skip
    if any(check(ch) for ch in normalized for check in prohibited):
        return password
    has_ral = any(stringprep.in_table_d1(ch) for ch in normalized)
    if has_ral and (
        any(stringprep.in_table_d2(ch) for ch in normalized)
        or not (stringprep.in_table_d1(normalized[0]) and stringprep.in_table_d1(normalized[-1]))
    ):
        return password
    return normalized


class ScramPhase(enum.Enum):
    #: client-first-message built; waiting for server-first-message (AuthenticationSASLContinue).
    WAITING_SERVER_FIRST = enum.auto()
    #: client-final-message built; waiting for server-final-message (AuthenticationSASLFinal).
    WAITING_SERVER_FINAL = enum.auto()
    #: The server proved it knows the password.
    DONE = enum.auto()


class ScramSha256:
    """The client side of one SCRAM-SHA-256 exchange, without channel binding.

    The user name is sent empty by default: PostgreSQL takes it from the StartupMessage (docs §55.3.1);
    `user` exists to replay published exchanges such as RFC 7677's, which name one.
    """

    def __init__(self, password: str, nonce: str | None = None, user: str = "") -> None:
        self._password = saslprep(password).encode()
        self._nonce = nonce or base64.b64encode(secrets.token_bytes(18)).decode()
        name = user.replace("=", "=3D").replace(",", "=2C")  # RFC 5802 §5.1 saslname
        self._client_first_bare = f"n={name},r={self._nonce}"
        self._server_signature = b""
        self.phase = ScramPhase.WAITING_SERVER_FIRST

    def client_first(self) -> bytes:
        """The client-first-message, for SASLInitialResponse."""
        return ("n,," + self._client_first_bare).encode()

    def client_final(self, server_first: bytes) -> bytes:
        """Check the server-first-message and answer with the client-final-message (SASLResponse)."""
        if self.phase is not ScramPhase.WAITING_SERVER_FIRST:
            raise ProtocolError(f"unexpected AuthenticationSASLContinue during SCRAM while {self.phase.name}")
        try:
            text = server_first.decode("utf-8")
            attrs = dict(part.split("=", 1) for part in text.split(","))
            nonce, salt, iterations = attrs["r"], base64.b64decode(attrs["s"], validate=True), int(attrs["i"])
        except (UnicodeDecodeError, ValueError, KeyError) as exc:
            raise ProtocolError(
                f"AuthenticationSASLContinue has a malformed server-first-message {server_first!r}"
            ) from exc
        if not nonce.startswith(self._nonce) or len(nonce) == len(self._nonce):
            raise ProtocolError(f"AuthenticationSASLContinue nonce {nonce!r} does not extend the client's nonce")
        if not 1 <= iterations <= MAX_SCRAM_ITERATIONS:
            raise ProtocolError(
                f"AuthenticationSASLContinue asks for {iterations} SCRAM iterations; "
                f"expected 1 to {MAX_SCRAM_ITERATIONS}"
            )
        salted = hashlib.pbkdf2_hmac("sha256", self._password, salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        without_proof = f"c=biws,r={nonce}"
        auth_message = f"{self._client_first_bare},{text},{without_proof}".encode()
        signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.digest(salted, b"Server Key", "sha256")
        self._server_signature = hmac.digest(server_key, auth_message, "sha256")
        self.phase = ScramPhase.WAITING_SERVER_FINAL
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify_server_final(self, server_final: bytes) -> None:
        """Check the server-final-message: the server must prove it knows the password too."""
        if self.phase is not ScramPhase.WAITING_SERVER_FINAL:
            raise ProtocolError(f"unexpected AuthenticationSASLFinal during SCRAM while {self.phase.name}")
        try:
            attrs = dict(part.split("=", 1) for part in server_final.decode("utf-8").split(","))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProtocolError(
                f"AuthenticationSASLFinal has a malformed server-final-message {server_final!r}"
            ) from exc
        if "e" in attrs:
            raise ProtocolError(f"AuthenticationSASLFinal reports SCRAM error {attrs['e']!r}")
        try:
            signature = base64.b64decode(attrs["v"], validate=True)
        except (KeyError, ValueError) as exc:
            raise ProtocolError(f"AuthenticationSASLFinal has no valid server signature in {server_final!r}") from exc
        if not hmac.compare_digest(signature, self._server_signature):
            raise ProtocolError(
                "AuthenticationSASLFinal server signature does not match: the server does not know the password"
            )
        self.phase = ScramPhase.DONE
