"""A socket stream for asyncio that can hand received bytes straight to a consumer.

anyio's asyncio socket stream re-arms the socket's reader and passes through an event for every
`receive()`, and a task must be woken to read. On a plain (not TLS) connection the driver instead has
`data_received` feed the protocol core, and a waiting query resumes once, from the future its answer
completes: the shape asyncpg has (issue 6: about a fifth of the asyncio driver's time per `SELECT 1`). Before
`push_to()` (startup, the TLS handshake) it is an ordinary pull stream.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import Callable

import anyio
from anyio.abc import SocketStream

from pgproto._dsn import Address

#: Chunks buffered in pull mode before the socket is left unread until `receive()` asks again.
_PAUSE_AT_CHUNKS = 16


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.consumer: Callable[[bytes], None] | None = None
        self.at_eof = False
        self.error: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.consumer is not None:
            self.consumer(data)
        else:
            self.chunks.append(data)
            self._wake()
            if len(self.chunks) >= _PAUSE_AT_CHUNKS and self.transport is not None:
                self.transport.pause_reading()  # nobody reads: leave the rest in the socket

    def eof_received(self) -> bool:
        self._end(None)
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(exc)

    def _end(self, exc: Exception | None) -> None:
        if self.at_eof:
            return
        self.at_eof = True
        self.error = exc
        self._wake()
        if self.consumer is not None:
            self.consumer(b"")  # the end of the stream, as receive() reports it to the pull reader

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


class AsyncioStream(SocketStream):
    """An asyncio transport as an anyio socket stream, with an optional push mode (`push_to`)."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        #: The loop the transport runs on (the stream is made on it).
        self.loop = asyncio.get_running_loop()
        self._closed = False
        #: `pause_reading()` was called and `resume_reading()` not since (in push mode, only they pause).
        self.is_reading_paused = False

    @property
    def _raw_socket(self) -> socket.socket:
        raw: socket.socket = self._transport.get_extra_info("socket")
        return raw

    async def receive(self, max_bytes: int = 65536) -> bytes:
        protocol = self._protocol
        if protocol.consumer is not None:
            raise RuntimeError("the stream pushes its bytes to a consumer")
        while not protocol.chunks:
            if self._closed:
                raise anyio.ClosedResourceError
            if protocol.at_eof:
                if protocol.error is not None:
                    raise anyio.BrokenResourceError from protocol.error
                raise anyio.EndOfStream
            protocol.waiter = asyncio.get_running_loop().create_future()
            self._transport.resume_reading()
            try:
                await protocol.waiter
            finally:
                protocol.waiter = None
        chunk = protocol.chunks.popleft()
        if len(chunk) > max_bytes:
            protocol.chunks.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        return chunk

    async def send(self, item: bytes) -> None:
        self.write(item)

    def write(self, data: bytes) -> None:
        """Queue `data` for the server (whole, at once: a cancellation cannot split a message)."""
        if self._closed:
            raise anyio.ClosedResourceError
        if self._protocol.at_eof or self._transport.is_closing():
            raise anyio.BrokenResourceError from self._protocol.error
        self._transport.write(data)

    async def send_eof(self) -> None:
        self._transport.write_eof()

    async def aclose(self) -> None:
        # close(), not abort(): a Terminate written just before still reaches the server.
        self._closed = True
        self._transport.close()
        self._protocol._wake()

    def push_to(self, consumer: Callable[[bytes], None]) -> None:
        """From now on call `consumer(data)` for received bytes (b"" once at the end), never buffer them."""
        protocol = self._protocol
        protocol.consumer = consumer
        # The transport calls `protocol.data_received(data)`: the consumer is called straight (issue 6).
        protocol.data_received = consumer  # type: ignore[method-assign,assignment]
        while protocol.chunks:
            consumer(protocol.chunks.popleft())
        if protocol.at_eof:
            consumer(b"")
        self.is_reading_paused = False
        self._transport.resume_reading()

    def pause_reading(self) -> None:
        """Leave the server's bytes in the socket (backpressure) until `resume_reading()`."""
        self.is_reading_paused = True
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        """Read again after `pause_reading()`; harmless when reading."""
        self.is_reading_paused = False
        self._transport.resume_reading()


def running_asyncio() -> bool:
    """The calling task runs on asyncio (not trio)."""
    try:
        asyncio.current_task()
    except RuntimeError:  # no running asyncio loop
        return False
    return True


async def open_asyncio_stream(address: Address) -> AsyncioStream:
    """A TCP or Unix-socket connection to `address` on the running asyncio loop."""
    loop = asyncio.get_running_loop()
    transport: asyncio.BaseTransport
    if address.is_unix:
        transport, protocol = await loop.create_unix_connection(_Protocol, address.unix_socket_path())
    else:
        # hostaddr, when given, is where to connect; host still names the server (for TLS).
        host = address.hostaddr or address.host
        transport, protocol = await loop.create_connection(_Protocol, host, address.port)
    assert isinstance(transport, asyncio.Transport)
    return AsyncioStream(transport, protocol)
