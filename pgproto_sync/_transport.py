"""TCP or Unix socket, SSLRequest then TLS, within a deadline; CancelRequest on a socket of its own; and
waiting for a socket to become readable or writable."""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import time

from pgproto import ProtocolError, ssl_request
from pgproto._dsn import Address, ConnectParams
from pgproto._shared._environment import tls_context


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out connecting to PostgreSQL")
    return left


def _plain_socket(address: Address, deadline: float | None) -> socket.socket:
    if address.is_unix:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(address.unix_socket_path())
        except BaseException:
            sock.close()
            raise
        return sock
    sock = socket.create_connection((address.hostaddr or address.host, address.port), timeout=_remaining(deadline))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def open_socket(params: ConnectParams, address: Address, deadline: float | None) -> socket.socket:
    """A connected socket to `address`, wrapped in TLS when the server agrees and sslmode asks for it."""
    sock = _plain_socket(address, deadline)
    if address.is_unix or (params.sslmode in ("disable", "allow") and params.ssl_context is None):
        return sock
    try:
        sock.settimeout(_remaining(deadline))
        sock.sendall(ssl_request())
        answer = sock.recv(1)
        if answer == b"S":
            return tls_context(params).wrap_socket(sock, server_hostname=address.host)
        if answer != b"N":
            raise ProtocolError(f"the server answered SSLRequest with {answer!r}; expected b'S' or b'N'")
        if params.sslmode in ("require", "verify-ca", "verify-full"):
            raise ConnectionRefusedError(f"the server at {address.host}:{address.port} does not support TLS")
        return sock
    except BaseException:
        sock.close()
        raise


def send_cancel_request(address: Address, data: bytes, timeout: float) -> None:
    """Send a CancelRequest on a connection of its own and wait (briefly) for the server to close it."""
    sock = _plain_socket(address, time.monotonic() + timeout)
    with sock, contextlib.suppress(OSError):
        sock.settimeout(timeout)
        sock.sendall(data)
        sock.recv(1)


def wait_socket(sock: socket.socket, *, write: bool, timeout: float | None) -> tuple[bool, bool]:
    """Wait until `sock` is readable (or, with `write`, writable) or `timeout` seconds pass.

    Returns:
        (readable, writable). A socket closed meanwhile (by another thread) reads as readable, so the
        caller goes on to find it closed.
    """
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True, False  # decrypted bytes wait in the TLS layer, where select cannot see them
    try:
        fd = sock.fileno()
        if fd < 0:
            return True, False
        if _HAS_POLL:  # select() fails on descriptors above FD_SETSIZE (1024)
            poller = select.poll()
            poller.register(fd, select.POLLIN | (select.POLLOUT if write else 0))
            events = poller.poll(None if timeout is None else max(0.0, timeout) * 1000)
            mask = 0
            for _, event in events:
                mask |= event
            return bool(mask & ~select.POLLOUT), bool(mask & select.POLLOUT)
        readable, writable, _ = select.select([fd], [fd] if write else [], [], timeout)
        return bool(readable), bool(writable)
    except (OSError, ValueError):
        return True, False


_HAS_POLL = hasattr(select, "poll")
