"""The names both drivers re-export: every exception class, Record, Notice and Notification."""

from pgproto._sqlstate import *  # noqa: F403
from pgproto._sqlstate import __all__ as _sqlstate_names
from pgproto.errors import (
    ArgumentError,
    AuthenticationError,
    ConnectionDoesNotExistError,
    InterfaceError,
    PostgresError,
    ProtocolError,
)
from pgproto.events import Notice, Notification

from ._results import Record

__all__ = [
    "ArgumentError",
    "AuthenticationError",
    "ConnectionDoesNotExistError",
    "InterfaceError",
    "Notice",
    "Notification",
    "PostgresError",
    "ProtocolError",
    "Record",
    *_sqlstate_names,
]
