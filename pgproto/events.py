"""Public events produced by `Client.next_event()`: frozen facts, no behaviour.

Events are what a driver routes: notifications, notices and termination go to listeners; the rest
completes the request at the head of the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class Notice:
    """The fields of a NoticeResponse or ErrorResponse (PostgreSQL docs §55.8 "Error and Notice Message Fields").

    Every field is a string as the server sent it, or None when it sent none. `severity` is localized;
    `severity_nonlocalized` is not (and is absent from servers older than 9.6).
    """

    # No __slots__, unlike the other events: the parser builds a Notice by giving it the dict of the
    # fields the server sent, and the class's None defaults stand for the rest (issue 6: RAISE NOTICE
    # floods; setting 18 slots one by one was a third of the cost of a notice).

    severity: str | None = None
    severity_nonlocalized: str | None = None
    sqlstate: str | None = None
    message: str | None = None
    detail: str | None = None
    hint: str | None = None
    position: str | None = None
    internal_position: str | None = None
    internal_query: str | None = None
    context: str | None = None
    schema_name: str | None = None
    table_name: str | None = None
    column_name: str | None = None
    data_type_name: str | None = None
    constraint_name: str | None = None
    server_source_filename: str | None = None
    server_source_line: str | None = None
    server_source_function: str | None = None

    def as_dict(self) -> dict[str, str]:
        """The fields the server sent, by name."""
        return {name: value for name in NOTICE_FIELD_NAMES if (value := getattr(self, name)) is not None}


#: Notice's field names, in the order of its dataclass fields.
NOTICE_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Notice))


@dataclass(frozen=True, slots=True)
class Notification:
    """A NotificationResponse: `NOTIFY channel, 'payload'` from the session with backend `pid`."""

    pid: int
    channel: str
    payload: str


@dataclass(frozen=True, slots=True)
class Terminated:
    """The server ended the session: `reason` is its FATAL error, or None when the connection just closed."""

    reason: Notice | None


@dataclass(frozen=True, slots=True)
class ParameterStatus:
    """The server reported the current value of a run-time parameter (at startup or after SET)."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class BackendKeyData:
    """The process id and secret key to quote in a CancelRequest for this session."""

    pid: int
    secret_key: bytes


@dataclass(frozen=True, slots=True)
class Authenticated:
    """The server accepted our credentials (AuthenticationOk)."""


@dataclass(frozen=True, slots=True)
class ReadyForQuery:
    """The server finished a request (a simple query or a Sync); `transaction_status` is I, T or E."""

    transaction_status: str


@dataclass(frozen=True, slots=True)
class Column:
    """One field of a RowDescription, plus the format the client decodes it from."""

    name: str
    table_oid: int
    column_number: int
    type_oid: int
    type_size: int
    type_modifier: int
    format: int


@dataclass(frozen=True, slots=True)
class RowDescription:
    """The columns of the rows that follow (for a simple query statement or an executed portal)."""

    columns: tuple[Column, ...]


@dataclass(frozen=True, slots=True)
class Rows:
    """Decoded DataRows, in order: each row is a tuple of Python values (None for NULL).

    Consecutive DataRow messages already received are folded into one event, so a driver pays one
    event per network read instead of one per row.
    """

    rows: list[tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class DecodeFailed:
    """A value of the current result could not be turned into a Python object (e.g. a BC date).

    The connection goes on: the rest of this result's rows are skipped, and its QueryComplete follows.
    """

    column: str
    type_oid: int
    message: str


@dataclass(frozen=True, slots=True)
class StatementPrepared:
    """A statement was parsed and described: its parameter types and result columns (empty if none)."""

    name: str
    query: str
    parameter_oids: tuple[int, ...]
    columns: tuple[Column, ...]


@dataclass(frozen=True, slots=True)
class StatementClosed:
    """A prepared statement was closed (CloseComplete)."""

    name: str


@dataclass(frozen=True, slots=True)
class QueryComplete:
    """One statement finished (CommandComplete or EmptyQueryResponse, when `command_tag` is "").

    `duration` is seconds, measured with the client's clock from when the query was queued to when
    its completion arrived.
    """

    command_tag: str
    query: str
    args: tuple[object, ...]
    duration: float


@dataclass(frozen=True, slots=True)
class PortalSuspended:
    """An Execute with a row limit stopped before the end of the result; execute the portal again for more."""

    query: str
    args: tuple[object, ...]
    duration: float


@dataclass(frozen=True, slots=True)
class QueryFailed:
    """The server refused a request (ErrorResponse); `error` holds its fields.

    `query` and `args` name the request that failed, `duration` the seconds since it was queued.
    The server skips the rest of the request up to the next ReadyForQuery.
    """

    error: Notice
    query: str
    args: tuple[object, ...]
    duration: float


@dataclass(frozen=True, slots=True)
class CopyInResponse:
    """The server waits for COPY data: send `copy_data` chunks, then `copy_done` or `copy_fail`."""

    format: int
    column_formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CopyOutResponse:
    """CopyData events follow, then CopyDone."""

    format: int
    column_formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CopyBothResponse:
    """Streaming replication started: CopyData flows both ways."""

    format: int
    column_formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CopyData:
    """One chunk of a COPY OUT (or COPY BOTH) stream."""

    data: bytes


@dataclass(frozen=True, slots=True)
class CopyDone:
    """The server finished its COPY OUT stream."""


@dataclass(frozen=True, slots=True)
class ProtocolVersionNegotiated:
    """The server speaks an older minor protocol version, or ignored some `_pq_.` startup options."""

    newest_minor_version: int
    unrecognized_options: tuple[str, ...] = field(default_factory=tuple)


Event = (
    Notice
    | Notification
    | Terminated
    | ParameterStatus
    | BackendKeyData
    | Authenticated
    | ReadyForQuery
    | RowDescription
    | Rows
    | DecodeFailed
    | StatementPrepared
    | StatementClosed
    | QueryComplete
    | PortalSuspended
    | QueryFailed
    | CopyInResponse
    | CopyOutResponse
    | CopyBothResponse
    | CopyData
    | CopyDone
    | ProtocolVersionNegotiated
)

