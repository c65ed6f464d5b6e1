"""Collects received bytes and hands out whole messages; enforces the message-size cap.

It knows the framing only (PostgreSQL docs §55.7: a type byte, then an Int32 length that counts
itself), never what a message means.
"""

from __future__ import annotations

from struct import Struct

from .errors import ProtocolError

_LENGTH = Struct("!i")
#: The largest message the client accepts by default: 1 GiB, the server's own limit for a field.
DEFAULT_MAX_MESSAGE_SIZE = 1 << 30
#: Above this many missing bytes, a partial message waits in a list of chunks instead of being
#: re-concatenated on every read (which would be quadratic).
_CHUNK_THRESHOLD = 1 << 16


class ReceiveBuffer:
    """Received bytes not yet handed out, as `data[pos:]`.

    `data` and `pos` are public to the client's DataRow loop, which walks many small messages in place.
    """

    __slots__ = ("_chunks", "_chunks_size", "_need", "data", "max_message_size", "pos")

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.data = b""
        self.pos = 0
        self.max_message_size = max_message_size
        # A large message being collected: its chunks, their total size and the size we wait for.
        self._chunks: list[bytes] = []
        self._chunks_size = 0
        self._need = 0

    def __len__(self) -> int:
        return len(self.data) - self.pos + self._chunks_size

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        if self._chunks:
            self._chunks.append(data)
            self._chunks_size += len(data)
            if self._chunks_size >= self._need:
                self.data, self.pos = b"".join(self._chunks), 0
                self._chunks, self._chunks_size, self._need = [], 0, 0
        elif self.pos >= len(self.data):
            self.data, self.pos = data, 0
        else:
            self.data, self.pos = self.data[self.pos :] + data, 0

    def maybe_extract(self) -> tuple[int, bytes] | None:
        """The next whole message as (type byte, body), or None until more bytes arrive.

        Raises:
            ProtocolError: as `maybe_frame`.
        """
        data = self.data
        frame = self.maybe_frame()
        if frame is None:
            return None
        kind, start, end = frame
        return kind, data[start:end]

    def maybe_frame(self) -> tuple[int, int, int] | None:
        """The next whole message, in place: (type byte, start, end) of its body in `data` (read `data`
        before calling: a later `feed` replaces it). None until more bytes arrive.

        Raises:
            ProtocolError: the declared length is below 4 or above `max_message_size`; checked as soon
                as the header is here, before any buffering of that size.
        """
        data, pos = self.data, self.pos
        if len(data) - pos < 5:
            return None
        (length,) = _LENGTH.unpack_from(data, pos + 1)
        kind = data[pos]
        if length < 4 or length > self.max_message_size:
            raise ProtocolError(
                f"message {chr(kind)!r} declares length {length}; expected 4 to {self.max_message_size} bytes"
            )
        end = pos + 1 + length
        if end > len(data):
            if end - len(data) > _CHUNK_THRESHOLD:
                self._chunks, self._chunks_size = [data[pos:]], len(data) - pos
                self._need = length + 1
                self.data, self.pos = b"", 0
            return None
        self.pos = end
        return kind, pos + 5, end
