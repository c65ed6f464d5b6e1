"""`Connection.notifications()`: an async iterator over the notifications of some channels.

The reader fills its inbox directly, in the order the server sent the notifications (per-channel dispatchers
would interleave channels by task scheduling). It LISTENs on its first step and UNLISTENs when the iteration
ends, however it ends: Python tells an iterator nothing on `break`, so a dropped one unregisters in `__del__`.
"""

from __future__ import annotations

import contextlib
from collections import deque
from typing import TYPE_CHECKING

import anyio

from pgproto import ConnectionDoesNotExistError, InterfaceError, Notification
from pgproto._shared._dispatch import NotificationSink
from pgproto._shared._listeners import channel_key

if TYPE_CHECKING:
    from ._connection import Connection

#: How long the UNLISTENs at the end of an iteration may take before they are left to the next request.
_UNLISTEN_GRACE = 10.0


class Inbox:
    """An iterator's received, not yet yielded notifications. It holds no reference to the iterator: the
    connection holds the inbox, and must not keep an abandoned iterator alive."""

    __slots__ = ("lost", "queue", "wakeup")

    def __init__(self) -> None:
        self.queue: deque[Notification] = deque()
        self.wakeup = anyio.Event()
        self.lost = False

    def push(self, notification: Notification) -> None:
        self.queue.append(notification)
        self.wakeup.set()

    def mark_lost(self) -> None:
        self.lost = True
        self.wakeup.set()


class NotificationIterator:
    """`async for notification in conn.notifications("a", "b"): ...` yields `pgproto.Notification`s.

    Raises:
        ConnectionDoesNotExistError: the connection was lost while iterating.
    """

    def __init__(self, conn: Connection, channels: tuple[str, ...]) -> None:
        self._finished = True  # until __init__ succeeds: nothing for __del__ to undo
        if not channels:
            raise InterfaceError("notifications() needs at least one channel")
        for channel in channels:
            channel_key(channel)  # a bad name fails here, not at the first step
        self._conn = conn
        self._channels = channels
        self._inbox = Inbox()
        # Registered as a channel callback (for LISTEN bookkeeping); the reader feeds the inbox itself.
        self._sink = NotificationSink(self._inbox.push)
        self._added: list[str] = []
        self._started = False
        self._finished = False

    def __aiter__(self) -> NotificationIterator:
        return self

    async def __anext__(self) -> Notification:
        if self._finished:
            raise StopAsyncIteration
        inbox = self._inbox
        try:
            if not self._started:
                self._started = True
                self._conn._inboxes[self._sink] = inbox
                for channel in self._channels:
                    await self._conn.add_listener(channel, self._sink)
                    self._added.append(channel)
            while not inbox.queue:
                if inbox.lost or self._conn.is_closed():
                    await self.aclose()
                    raise ConnectionDoesNotExistError(self._conn._lost_message(None))
                inbox.wakeup = anyio.Event()
                await inbox.wakeup.wait()
        except BaseException:  # cancelled, or the LISTEN failed
            await self.aclose()
            raise
        notification = inbox.queue.popleft()
        self._conn._notification_done()
        return notification

    async def aclose(self) -> None:
        """End the iteration now: UNLISTEN (shielded from cancellation); later steps stop the iteration."""
        if self._finished:
            return
        self._discard_inbox()
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
        if self._finished:
            return
        self._discard_inbox()
        for channel in self._added:
            self._conn._abandon_listener(channel, self._sink)

    def _discard_inbox(self) -> None:
        self._finished = True
        self._conn._discard_inbox(self._sink)
