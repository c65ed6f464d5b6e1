"""pgproto: a sans-I/O PostgreSQL protocol v3 client.

Bytes in (`Client.receive_data`), events out (`Client.next_event`), bytes to send
(`Client.data_to_send`); no sockets, threads, event loops or clocks of its own.
"""

from ._client import NEED_DATA, Client
from ._frontend import cancel_request, ssl_request
from ._sqlstate import *  # noqa: F403
from ._sqlstate import __all__ as _sqlstate_names
from ._state import Phase
from .errors import (
    ArgumentError,
    AuthenticationError,
    ConnectionDoesNotExistError,
    InterfaceError,
    PostgresError,
    ProtocolError,
)
from .events import (
    Authenticated,
    BackendKeyData,
    Column,
    CopyBothResponse,
    CopyData,
    CopyDone,
    CopyInResponse,
    CopyOutResponse,
    DecodeFailed,
    Event,
    Notice,
    Notification,
    ParameterStatus,
    PortalSuspended,
    ProtocolVersionNegotiated,
    QueryComplete,
    QueryFailed,
    ReadyForQuery,
    RowDescription,
    Rows,
    StatementClosed,
    StatementPrepared,
    Terminated,
)

__all__ = [
    "NEED_DATA",
    "ArgumentError",
    "Authenticated",
    "AuthenticationError",
    "BackendKeyData",
    "Client",
    "Column",
    "ConnectionDoesNotExistError",
    "CopyBothResponse",
    "CopyData",
    "CopyDone",
    "CopyInResponse",
    "CopyOutResponse",
    "DecodeFailed",
    "Event",
    "InterfaceError",
    "Notice",
    "Notification",
    "ParameterStatus",
    "Phase",
    "PortalSuspended",
    "PostgresError",
    "ProtocolError",
    "ProtocolVersionNegotiated",
    "QueryComplete",
    "QueryFailed",
    "ReadyForQuery",
    "RowDescription",
    "Rows",
    "StatementClosed",
    "StatementPrepared",
    "Terminated",
    "cancel_request",
    "ssl_request",
    *_sqlstate_names,
]
