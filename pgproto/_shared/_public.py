"""The names both drivers re-export beside the SQLSTATE classes: the other exceptions, Record, Notice and
Notification."""

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
]
