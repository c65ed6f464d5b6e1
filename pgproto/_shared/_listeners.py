"""Listener, log-listener, termination-listener and query-logger registries, and when to LISTEN / UNLISTEN.

No I/O: a driver asks the registry whether a LISTEN or UNLISTEN is due and sends it itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..errors import InterfaceError
from ..events import Notice

#: PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes; notifications then carry the short name.
_MAX_IDENTIFIER_BYTES = 63

ChannelCallback = Callable[[str, str], Any]
LogCallback = Callable[[Notice], object]
TerminationCallback = Callable[[], Any]
QueryLogger = Callable[[str, tuple[object, ...], float], object]


def channel_key(channel: str) -> str:
    """The name the server will use for `channel`: truncated like PostgreSQL truncates identifiers.

    Raises:
        InterfaceError: the name is empty or contains NUL, which no identifier can.
    """
    if not isinstance(channel, str):
        raise InterfaceError(f"a channel name must be a str, not {type(channel).__name__}")
    if not channel or "\0" in channel:
        raise InterfaceError(f"invalid channel name {channel!r}: it must be non-empty and contain no NUL")
    data = channel.encode()
    if len(data) <= _MAX_IDENTIFIER_BYTES:
        return channel
    return data[:_MAX_IDENTIFIER_BYTES].decode("utf-8", "ignore")


def quote_ident(name: str) -> str:
    """`name` as a quoted SQL identifier: any name works, and none can inject SQL."""
    return '"' + channel_key(name).replace('"', '""') + '"'


def is_async_callable(callback: object) -> bool:
    """True for `async def` functions, bound methods and objects whose __call__ is one."""
    if inspect.iscoroutinefunction(callback):
        return True
    call = getattr(callback, "__call__", None)  # noqa: B004  # callable objects with an async __call__
    return inspect.iscoroutinefunction(call)


def _require_callable(callback: object, what: str, allow_async: bool) -> None:
    if not callable(callback):
        raise TypeError(f"{what} must be callable, got {type(callback).__name__}")
    if not allow_async and is_async_callable(callback):
        raise TypeError(f"{what} must be a plain function here, not an async def: {callback!r}")


class Listeners:
    """Every callback registered on a connection, in the order it was added.

    Args:
        async_channel_callbacks: whether channel and termination callbacks may be `async def`
            (the anyio driver) or must be plain functions (the sync driver).
    """

    def __init__(self, *, async_channel_callbacks: bool) -> None:
        self._allow_async = async_channel_callbacks
        # dicts as ordered sets: adding a callback twice keeps its first position.
        self._channels: dict[str, dict[ChannelCallback, None]] = {}
        self._log: dict[LogCallback, None] = {}
        self._termination: dict[TerminationCallback, None] = {}
        self._query_loggers: dict[QueryLogger, None] = {}
        # Snapshots handed out per notification, notice and query (issue 6: a tuple built per
        # notification showed in the profile): rebuilt when a registration changes, not per event.
        #: Each channel's callbacks now, in the order they were added (`channel_callbacks`, as a dict
        #: the drivers' per-notification loops read without a call).
        self.callbacks_by_channel: dict[str, tuple[ChannelCallback, ...]] = {}
        self.log_listeners: tuple[LogCallback, ...] = ()
        self.query_loggers: tuple[QueryLogger, ...] = ()

    # -- notification channels ---------------------------------------------------------------------

    def add_listener(self, channel: str, callback: ChannelCallback) -> bool:
        """Register `callback` on `channel`; True when it is the channel's first (a LISTEN is due)."""
        key = channel_key(channel)
        _require_callable(callback, "a notification callback", self._allow_async)
        callbacks = self._channels.setdefault(key, {})
        callbacks.setdefault(callback, None)
        self.callbacks_by_channel[key] = tuple(callbacks)
        return len(callbacks) == 1 and next(iter(callbacks)) is callback

    def remove_listener(self, channel: str, callback: ChannelCallback) -> bool:
        """Unregister; True when the channel's last callback went (an UNLISTEN is due). Unknown: no-op."""
        key = channel_key(channel)
        callbacks = self._channels.get(key)
        if callbacks is None or callback not in callbacks:
            return False
        del callbacks[callback]
        if callbacks:
            self.callbacks_by_channel[key] = tuple(callbacks)
            return False
        del self._channels[key]
        del self.callbacks_by_channel[key]
        return True

    def channel_callbacks(self, channel: str) -> tuple[ChannelCallback, ...]:
        """The callbacks of `channel` now, in the order they were added (empty if none)."""
        return self.callbacks_by_channel.get(channel, ())

    @property
    def channels(self) -> tuple[str, ...]:
        """Channels with at least one callback (as the server names them)."""
        return tuple(self._channels)

    # -- notices, termination, queries ----------------------------------------------------------------

    def add_log_listener(self, callback: LogCallback) -> None:
        """Register a plain function called with every Notice."""
        _require_callable(callback, "a log listener", allow_async=False)
        self._log.setdefault(callback, None)
        self.log_listeners = tuple(self._log)

    def remove_log_listener(self, callback: LogCallback) -> None:
        """Unregister a log listener; unknown: no-op."""
        self._log.pop(callback, None)
        self.log_listeners = tuple(self._log)

    def add_termination_listener(self, callback: TerminationCallback) -> None:
        """Register a callback for when the connection is lost."""
        _require_callable(callback, "a termination listener", self._allow_async)
        self._termination.setdefault(callback, None)

    def remove_termination_listener(self, callback: TerminationCallback) -> None:
        """Unregister a termination listener; unknown: no-op."""
        self._termination.pop(callback, None)

    def add_query_logger(self, callback: QueryLogger) -> None:
        """Register a plain function called as (query, args, duration) after every query."""
        _require_callable(callback, "a query logger", allow_async=False)
        self._query_loggers.setdefault(callback, None)
        self.query_loggers = tuple(self._query_loggers)

    def remove_query_logger(self, callback: QueryLogger) -> None:
        """Unregister a query logger; unknown: no-op."""
        self._query_loggers.pop(callback, None)
        self.query_loggers = tuple(self._query_loggers)

    @property
    def termination_listeners(self) -> tuple[TerminationCallback, ...]:
        return tuple(self._termination)
