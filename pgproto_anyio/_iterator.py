"""`Connection.notifications()`: an async iterator over the notifications of some channels.

It LISTENs on its first step and UNLISTENs when the iteration ends, however it ends. Python tells an
iterator nothing on `break`, so an abandoned iterator unregisters when it is dropped (see `__del__`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from pgproto import ConnectionDoesNotExistError, InterfaceError, Notification
from pgproto._shared._dispatch import NotificationSink
from pgproto._shared._listeners import channel_key

if TYPE_CHECKING:
    from ._connection import Connection

#: Notifications an iterator holds before its channel's dispatcher waits for it (then backpressure applies).
_BUFFER = 64
#: How long the UNLISTENs at the end of an iteration may take before they are left to the next request.
_UNLISTEN_GRACE = 10.0


class NotificationIterator:
    """`async for notification in conn.notifications("a", "b"): ...` yields `pgproto.Notification`s.

    Raises:
        ConnectionDoesNotExistError: the connection was lost while iterating.
    """

    def __init__(self, conn: Connection, channels: tuple[str, ...]) -> None:
        if not channels:
            raise InterfaceError("notifications() needs at least one channel")
        for channel in channels:
            channel_key(channel)  # a bad name fails here, not at the first step
        self._conn = conn
        self._channels = channels
        self._send, self._receive = anyio.create_memory_object_stream[Notification](_BUFFER)
        self._sink = NotificationSink(_pusher(self._send))
        self._added: list[str] = []
        self._started = False
        self._finished = False

    def __aiter__(self) -> NotificationIterator:
        return self

    async def __anext__(self) -> Notification:
        if self._finished:
            raise StopAsyncIteration
        try:
            if not self._started:
                self._started = True
                self._conn._sinks.add(self._send)
                for channel in self._channels:
                    await self._conn.add_listener(channel, self._sink)
                    self._added.append(channel)
            return await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            await self.aclose()
            raise ConnectionDoesNotExistError("the connection was lost") from None
        except BaseException:  # cancelled, or the LISTEN failed
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """End the iteration now: UNLISTEN (shielded from cancellation); later steps stop the iteration."""
        if self._finished:
            return
        self._close_streams()
        with anyio.CancelScope(shield=True):
            for channel in self._added:
                if self._conn.is_closed():
                    self._conn._session.listeners.remove_listener(channel, self._sink)
                    continue
                with anyio.move_on_after(_UNLISTEN_GRACE), contextlib.suppress(ConnectionDoesNotExistError):
                    await self._conn.remove_listener(channel, self._sink)
                # Cancelled while waiting for the connection: the next request sends the UNLISTEN.
                self._conn._abandon_listener(channel, self._sink)

    def __del__(self) -> None:
        # `break` (or an exception in the loop body) drops the iterator without a word: unregister now,
        # synchronously, and let the connection send the UNLISTEN before its next request.
        if self._started and not self._finished:
            self._close_streams()
            for channel in self._added:
                self._conn._abandon_listener(channel, self._sink)

    def _close_streams(self) -> None:
        self._finished = True
        self._conn._sinks.discard(self._send)
        self._send.close()
        self._receive.close()  # wakes a dispatcher blocked on a full buffer


def _pusher(send: MemoryObjectSendStream[Notification]) -> Callable[[Notification], Awaitable[None]]:
    """The sink's callback. It holds the stream, not the iterator: the listener registry must not keep
    an abandoned iterator alive, or it would never be dropped and never unregister."""

    async def push(notification: Notification) -> None:
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await send.send(notification)

    return push
