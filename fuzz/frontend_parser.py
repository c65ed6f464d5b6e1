"""The server side, for round-trip properties: decode frontend messages strictly, and answer SCRAM-SHA-256.

Written from the protocol docs (§55.7 "Message Formats"), not from pgproto's encoders, and read the way the
server reads them: counts of the Int16 kind are unsigned (pq_getmsgint(msg, 2)). Test code only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass

from pgproto._auth import saslprep  # the server SASLpreps the stored password the same way


class FrontendParseError(Exception):
    """The bytes are not a well-formed frontend message."""


@dataclass(frozen=True)
class Startup:
    version: int
    params: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SSLRequest:
    pass


@dataclass(frozen=True)
class CancelRequest:
    pid: int
    secret_key: bytes


@dataclass(frozen=True)
class Query:
    text: str


@dataclass(frozen=True)
class Parse:
    statement: str
    text: str
    parameter_oids: tuple[int, ...]


@dataclass(frozen=True)
class Bind:
    portal: str
    statement: str
    parameter_formats: tuple[int, ...]
    values: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]


@dataclass(frozen=True)
class Describe:
    kind: str  # "S" statement or "P" portal
    name: str


@dataclass(frozen=True)
class Execute:
    portal: str
    max_rows: int


@dataclass(frozen=True)
class Close:
    kind: str
    name: str


@dataclass(frozen=True)
class Sync:
    pass


@dataclass(frozen=True)
class Flush:
    pass


@dataclass(frozen=True)
class CopyData:
    data: bytes


@dataclass(frozen=True)
class CopyDone:
    pass


@dataclass(frozen=True)
class CopyFail:
    reason: str


@dataclass(frozen=True)
class Terminate:
    pass


@dataclass(frozen=True)
class PasswordPacket:
    """A "p" message: PasswordMessage, SASLInitialResponse or SASLResponse, told apart by what was asked."""

    body: bytes


FrontendMessage = (
    Query | Parse | Bind | Describe | Execute | Close | Sync | Flush | CopyData | CopyDone | CopyFail | Terminate
    | PasswordPacket
)  # fmt: skip

_PROTOCOL_3_0 = 3 << 16
_SSL_REQUEST_CODE = 80877103
_CANCEL_REQUEST_CODE = 80877102


class _Body:
    __slots__ = ("data", "pos", "what")

    def __init__(self, what: str, data: bytes) -> None:
        self.what, self.data, self.pos = what, data, 0

    def fail(self, problem: str) -> FrontendParseError:
        return FrontendParseError(f"{self.what}: {problem} at byte {self.pos} of {self.data!r}")

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"{n} bytes wanted")
        value = self.data[self.pos : self.pos + n]
        self.pos += n
        return value

    def uint16(self) -> int:
        return int(struct.unpack("!H", self.take(2))[0])

    def int16(self) -> int:
        return int(struct.unpack("!h", self.take(2))[0])

    def int32(self) -> int:
        return int(struct.unpack("!i", self.take(4))[0])

    def uint32(self) -> int:
        return int(struct.unpack("!I", self.take(4))[0])

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise self.fail("string without NUL")
        raw = self.data[self.pos : end]
        self.pos = end + 1
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.fail(f"invalid UTF-8 {raw!r}") from exc

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.pos)

    def end(self) -> None:
        if self.pos != len(self.data):
            raise self.fail(f"{len(self.data) - self.pos} trailing bytes")


def parse_startup_packet(data: bytes) -> tuple[Startup | SSLRequest | CancelRequest, bytes]:
    """The first, untyped packet of a connection, and the bytes after it."""
    if len(data) < 8:
        raise FrontendParseError(f"startup packet too short: {data!r}")
    (length,) = struct.unpack_from("!i", data)
    if length < 8 or length > len(data):
        raise FrontendParseError(f"startup packet declares length {length} of {len(data)} bytes")
    body, rest = _Body("startup packet", data[4:length]), data[length:]
    code = body.int32()
    if code == _SSL_REQUEST_CODE:
        body.end()
        return SSLRequest(), rest
    if code == _CANCEL_REQUEST_CODE:
        pid = body.int32()
        return CancelRequest(pid, body.rest()), rest
    if code != _PROTOCOL_3_0:
        raise body.fail(f"protocol version {code:#x}")
    params = []
    while (name := body.cstring()) != "":
        params.append((name, body.cstring()))
    body.end()
    return Startup(code, tuple(params)), rest


def _formats(body: _Body) -> tuple[int, ...]:
    return tuple(body.int16() for _ in range(body.uint16()))


def _message(kind: str, body: _Body) -> FrontendMessage:
    result: FrontendMessage
    if kind == "Q":
        result = Query(body.cstring())
    elif kind == "P":
        statement, text = body.cstring(), body.cstring()
        result = Parse(statement, text, tuple(body.uint32() for _ in range(body.uint16())))
    elif kind == "B":
        portal, statement = body.cstring(), body.cstring()
        parameter_formats = _formats(body)
        values: list[bytes | None] = []
        for _ in range(body.uint16()):
            n = body.int32()
            if n < -1:
                raise body.fail(f"value length {n}")
            values.append(None if n == -1 else body.take(n))
        result = Bind(portal, statement, parameter_formats, tuple(values), _formats(body))
    elif kind in "DC":
        what = body.take(1).decode("latin-1")
        if what not in "SP":
            raise body.fail(f"{kind} of {what!r}")
        result = (Describe if kind == "D" else Close)(what, body.cstring())
    elif kind == "E":
        result = Execute(body.cstring(), body.int32())
    elif kind == "d":
        result = CopyData(body.rest())
    elif kind == "f":
        result = CopyFail(body.cstring())
    elif kind == "p":
        result = PasswordPacket(body.rest())
    else:
        empty: dict[str, FrontendMessage] = {"S": Sync(), "H": Flush(), "c": CopyDone(), "X": Terminate()}
        if kind not in empty:
            raise body.fail(f"unknown frontend message type {kind!r}")
        result = empty[kind]
    body.end()
    return result


def parse_messages(data: bytes) -> list[FrontendMessage]:
    """Every typed frontend message in `data`, which must hold whole messages only."""
    messages: list[FrontendMessage] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 5:
            raise FrontendParseError(f"{len(data) - pos} bytes left, less than a header: {data[pos:]!r}")
        kind = chr(data[pos])
        (length,) = struct.unpack_from("!i", data, pos + 1)
        if length < 4 or pos + 1 + length > len(data):
            raise FrontendParseError(f"{kind!r} declares length {length} with {len(data) - pos - 1} bytes left")
        messages.append(_message(kind, _Body(kind, data[pos + 5 : pos + 1 + length])))
        pos += 1 + length
    return messages


def password_message(packet: PasswordPacket) -> bytes:
    """The password of a PasswordMessage (cleartext, or md5 hex): one string, NUL-terminated."""
    body = _Body("PasswordMessage", packet.body)
    end = packet.body.find(b"\0")
    if end < 0:
        raise body.fail("no NUL")
    value = body.take(end)
    body.take(1)
    body.end()
    return value


def sasl_initial_response(packet: PasswordPacket) -> tuple[str, bytes | None]:
    """The mechanism and initial data (None when the length is -1) of a SASLInitialResponse."""
    body = _Body("SASLInitialResponse", packet.body)
    mechanism = body.cstring()
    n = body.int32()
    data = None if n == -1 else body.take(n)
    body.end()
    return mechanism, data


class ScramServer:
    """The server's half of SCRAM-SHA-256 (RFC 5802 / RFC 7677) for one password, as PostgreSQL runs it."""

    def __init__(self, password: str, salt: bytes, iterations: int, nonce: str) -> None:
        salted = hashlib.pbkdf2_hmac("sha256", saslprep(password).encode(), salt, iterations)
        self._stored_key = hashlib.sha256(hmac.digest(salted, b"Client Key", "sha256")).digest()
        self._server_key = hmac.digest(salted, b"Server Key", "sha256")
        self._salt, self._iterations, self._nonce = salt, iterations, nonce
        self._client_first_bare = ""
        self._server_first = ""

    def server_first(self, client_first: bytes) -> bytes:
        """Answer the client-first-message: "n,," (no channel binding), "n=" (PostgreSQL ignores it), "r=nonce"."""
        text = client_first.decode()
        if not text.startswith("n,,"):
            raise FrontendParseError(f"client-first-message {text!r} does not start with the gs2 header n,,")
        self._client_first_bare = text[3:]
        attrs = dict(part.split("=", 1) for part in self._client_first_bare.split(","))
        if set(attrs) != {"n", "r"} or not attrs["r"]:
            raise FrontendParseError(f"client-first-message-bare {self._client_first_bare!r}")
        salt = base64.b64encode(self._salt).decode()
        self._server_first = f"r={attrs['r']}{self._nonce},s={salt},i={self._iterations}"
        return self._server_first.encode()

    def server_final(self, client_final: bytes) -> bytes:
        """Check the client's proof and answer with the server signature ("v=...")."""
        text = client_final.decode()
        without_proof, _, proof_text = text.rpartition(",p=")
        attrs = dict(part.split("=", 1) for part in without_proof.split(","))
        nonce = self._server_first.split(",")[0][2:]
        if attrs != {"c": "biws", "r": nonce}:
            raise FrontendParseError(f"client-final-message {text!r} (nonce {nonce!r})")
        auth_message = f"{self._client_first_bare},{self._server_first},{without_proof}".encode()
        signature = hmac.digest(self._stored_key, auth_message, "sha256")
        proof = base64.b64decode(proof_text, validate=True)
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        if len(proof) != 32 or hashlib.sha256(client_key).digest() != self._stored_key:
            raise FrontendParseError("the client proof does not match the password")
        return b"v=" + base64.b64encode(hmac.digest(self._server_key, auth_message, "sha256"))
