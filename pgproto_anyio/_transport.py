"""TCP or Unix socket, SSLRequest then TLS, within the connect timeout."""

from __future__ import annotations

import contextlib

import anyio
from anyio.abc import ByteStream
from anyio.streams.tls import TLSStream

from pgproto import ProtocolError, ssl_request
from pgproto._dsn import Address, ConnectParams
from pgproto._shared._environment import tls_context

from ._asyncio_stream import open_asyncio_stream, running_asyncio


async def open_stream(params: ConnectParams, address: Address) -> ByteStream:
    """A byte stream to `address`, encrypted when the server agrees and sslmode asks for it."""
    stream: ByteStream
    if running_asyncio():
        stream = await open_asyncio_stream(address)
    elif address.is_unix:
        stream = await anyio.connect_unix(address.unix_socket_path())
    else:
        stream = await anyio.connect_tcp(address.hostaddr or address.host, address.port)
    if address.is_unix:
        return stream  # libpq never negotiates TLS over a Unix socket
    if params.sslmode in ("disable", "allow") and params.ssl_context is None:
        return stream
    try:
        await stream.send(ssl_request())
        answer = await stream.receive(1)
        if answer == b"S":
            context = tls_context(params)
            return await TLSStream.wrap(
                stream, hostname=address.host, ssl_context=context, standard_compatible=False
            )
        if answer != b"N":
            raise ProtocolError(f"the server answered SSLRequest with {answer!r}; expected b'S' or b'N'")
        if params.sslmode in ("require", "verify-ca", "verify-full"):
            raise ConnectionRefusedError(f"the server at {address.host}:{address.port} does not support TLS")
        return stream
    except BaseException:
        await anyio.aclose_forcefully(stream)
        raise


async def send_cancel_request(params: ConnectParams, address: Address, data: bytes) -> None:
    """Send a CancelRequest on a connection of its own and wait for the server to close it."""
    if address.is_unix:
        stream: ByteStream = await anyio.connect_unix(address.unix_socket_path())
    else:
        stream = await anyio.connect_tcp(address.hostaddr or address.host, address.port)
    async with stream:
        await stream.send(data)
        with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError, OSError):
            await stream.receive()
