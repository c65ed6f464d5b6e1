"""Every state of a connection and every transition, as tables read top to bottom.

`Phase` is the connection's life; `Step` is what the oldest request in flight waits for. A pair missing
from a table is a ProtocolError naming the state and the message. Nothing else decides state.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from . import _backend as b


class Phase(enum.Enum):
    # Members are singletons: the identity hash (C) serves, and is much cheaper than Enum's (Python),
    # which the table lookups pay on every message.
    __hash__ = object.__hash__

    #: StartupMessage sent; waiting for an Authentication request (and through the SASL exchange).
    STARTING = enum.auto()
    #: Authenticated; waiting for BackendKeyData, ParameterStatus and the first ReadyForQuery.
    SETTING_UP = enum.auto()
    #: Set up: requests may be sent; those in flight wait in the pending queue (see Step).
    READY = enum.auto()
    #: The session ended: Terminated was emitted, or the user sent Terminate.
    CLOSED = enum.auto()
    #: The server broke the protocol; every later call raises the first ProtocolError again.
    FAILED = enum.auto()


#: Messages the server may send at any moment (docs §55.2.7 "Asynchronous Operations"); checked first.
ANYTIME: Final = frozenset({b.NoticeResponse, b.NotificationResponse, b.ParameterStatus})

#: Startup (docs §55.2.2). ErrorResponse here is always fatal.
PHASE_TRANSITIONS: Final[Mapping[tuple[Phase, type[b.BackendMessage]], Phase]] = {
    (Phase.STARTING, b.AuthenticationCleartextPassword): Phase.STARTING,
    (Phase.STARTING, b.AuthenticationMD5Password): Phase.STARTING,
    (Phase.STARTING, b.AuthenticationSASL): Phase.STARTING,
    (Phase.STARTING, b.AuthenticationSASLContinue): Phase.STARTING,
    (Phase.STARTING, b.AuthenticationSASLFinal): Phase.STARTING,
    (Phase.STARTING, b.AuthenticationUnsupported): Phase.STARTING,
    (Phase.STARTING, b.NegotiateProtocolVersion): Phase.STARTING,
    (Phase.STARTING, b.AuthenticationOk): Phase.SETTING_UP,
    (Phase.STARTING, b.ErrorResponse): Phase.CLOSED,
    (Phase.SETTING_UP, b.BackendKeyData): Phase.SETTING_UP,
    (Phase.SETTING_UP, b.NegotiateProtocolVersion): Phase.SETTING_UP,
    (Phase.SETTING_UP, b.ReadyForQuery): Phase.READY,
    (Phase.SETTING_UP, b.ErrorResponse): Phase.CLOSED,
}


class Step(enum.Enum):
    __hash__ = object.__hash__  # as for Phase: STEPS is looked up per message

    #: Query sent (simple protocol); waiting for each statement's results, then ReadyForQuery.
    QUERY = enum.auto()
    #: A statement of the Query returns rows: DataRows until CommandComplete.
    QUERY_ROWS = enum.auto()
    #: A statement of the Query is COPY FROM STDIN: the server waits for our CopyData/CopyDone/CopyFail.
    QUERY_COPY_IN = enum.auto()
    #: A statement of the Query is COPY TO STDOUT: CopyData until CopyDone.
    QUERY_COPY_OUT = enum.auto()
    #: COPY TO STDOUT finished; waiting for its CommandComplete.
    QUERY_COPY_DONE = enum.auto()
    #: Parse sent; waiting for ParseComplete.
    PARSE = enum.auto()
    #: Bind sent; waiting for BindComplete.
    BIND = enum.auto()
    #: Bind and Execute sent as one pair (a row of a batch, or execute_prepared without Sync): waiting
    #: for BindComplete, then as EXECUTE.
    #: One pending step per pair instead of two halves the bookkeeping of executemany (issue 6).
    BIND_EXECUTE = enum.auto()
    #: Bind, Execute and Sync sent together (execute_prepared): waiting for BindComplete, then as
    #: EXECUTE_SYNC. One pending step per query instead of three saves an eighth of a round trip's CPU.
    BIND_EXECUTE_SYNC = enum.auto()
    #: Describe (statement) sent; waiting for ParameterDescription.
    DESCRIBE_STATEMENT = enum.auto()
    #: ParameterDescription received; waiting for RowDescription or NoData.
    DESCRIBE_STATEMENT_COLUMNS = enum.auto()
    #: Describe (portal) sent; waiting for RowDescription or NoData.
    DESCRIBE_PORTAL = enum.auto()
    #: Execute sent; waiting for DataRows, then CommandComplete, EmptyQueryResponse or PortalSuspended.
    EXECUTE = enum.auto()
    #: The executed statement is COPY FROM STDIN: the server waits for our data.
    EXECUTE_COPY_IN = enum.auto()
    #: The executed statement is COPY TO STDOUT: CopyData until CopyDone.
    EXECUTE_COPY_OUT = enum.auto()
    #: COPY TO STDOUT finished; waiting for its CommandComplete.
    EXECUTE_COPY_DONE = enum.auto()
    #: As EXECUTE, with the Sync sent after it: the end of the result moves on to SYNC.
    EXECUTE_SYNC = enum.auto()
    #: As EXECUTE_COPY_IN, then SYNC.
    EXECUTE_COPY_IN_SYNC = enum.auto()
    #: As EXECUTE_COPY_OUT, then SYNC.
    EXECUTE_COPY_OUT_SYNC = enum.auto()
    #: As EXECUTE_COPY_DONE, then SYNC.
    EXECUTE_COPY_DONE_SYNC = enum.auto()
    #: Close sent; waiting for CloseComplete.
    CLOSE = enum.auto()
    #: Sync sent; waiting for ReadyForQuery.
    SYNC = enum.auto()


#: What each message moves the oldest pending request to; None: that request is answered.
STEPS: Final[Mapping[tuple[Step, type[b.BackendMessage]], Step | None]] = {
    (Step.QUERY, b.RowDescription): Step.QUERY_ROWS,
    (Step.QUERY, b.CommandComplete): Step.QUERY,
    (Step.QUERY, b.EmptyQueryResponse): Step.QUERY,
    (Step.QUERY, b.CopyInResponse): Step.QUERY_COPY_IN,
    (Step.QUERY, b.CopyOutResponse): Step.QUERY_COPY_OUT,
    (Step.QUERY, b.CopyBothResponse): Step.QUERY_COPY_OUT,
    (Step.QUERY, b.ReadyForQuery): None,
    (Step.QUERY_ROWS, b.DataRow): Step.QUERY_ROWS,
    (Step.QUERY_ROWS, b.CommandComplete): Step.QUERY,
    (Step.QUERY_COPY_IN, b.CommandComplete): Step.QUERY,
    (Step.QUERY_COPY_OUT, b.CopyData): Step.QUERY_COPY_OUT,
    (Step.QUERY_COPY_OUT, b.CopyDone): Step.QUERY_COPY_DONE,
    (Step.QUERY_COPY_DONE, b.CommandComplete): Step.QUERY,
    (Step.PARSE, b.ParseComplete): None,
    (Step.BIND, b.BindComplete): None,
    (Step.BIND_EXECUTE, b.BindComplete): Step.EXECUTE,
    (Step.DESCRIBE_STATEMENT, b.ParameterDescription): Step.DESCRIBE_STATEMENT_COLUMNS,
    (Step.DESCRIBE_STATEMENT_COLUMNS, b.RowDescription): None,
    (Step.DESCRIBE_STATEMENT_COLUMNS, b.NoData): None,
    (Step.DESCRIBE_PORTAL, b.RowDescription): None,
    (Step.DESCRIBE_PORTAL, b.NoData): None,
    (Step.EXECUTE, b.DataRow): Step.EXECUTE,
    (Step.EXECUTE, b.CommandComplete): None,
    (Step.EXECUTE, b.EmptyQueryResponse): None,
    (Step.EXECUTE, b.PortalSuspended): None,
    (Step.EXECUTE, b.CopyInResponse): Step.EXECUTE_COPY_IN,
    (Step.EXECUTE, b.CopyOutResponse): Step.EXECUTE_COPY_OUT,
    (Step.EXECUTE_COPY_IN, b.CommandComplete): None,
    (Step.EXECUTE_COPY_OUT, b.CopyData): Step.EXECUTE_COPY_OUT,
    (Step.EXECUTE_COPY_OUT, b.CopyDone): Step.EXECUTE_COPY_DONE,
    (Step.EXECUTE_COPY_DONE, b.CommandComplete): None,
    (Step.BIND_EXECUTE_SYNC, b.BindComplete): Step.EXECUTE_SYNC,
    (Step.EXECUTE_SYNC, b.DataRow): Step.EXECUTE_SYNC,
    (Step.EXECUTE_SYNC, b.CommandComplete): Step.SYNC,
    (Step.EXECUTE_SYNC, b.EmptyQueryResponse): Step.SYNC,
    (Step.EXECUTE_SYNC, b.PortalSuspended): Step.SYNC,
    (Step.EXECUTE_SYNC, b.CopyInResponse): Step.EXECUTE_COPY_IN_SYNC,
    (Step.EXECUTE_SYNC, b.CopyOutResponse): Step.EXECUTE_COPY_OUT_SYNC,
    (Step.EXECUTE_COPY_IN_SYNC, b.CommandComplete): Step.SYNC,
    (Step.EXECUTE_COPY_OUT_SYNC, b.CopyData): Step.EXECUTE_COPY_OUT_SYNC,
    (Step.EXECUTE_COPY_OUT_SYNC, b.CopyDone): Step.EXECUTE_COPY_DONE_SYNC,
    (Step.EXECUTE_COPY_DONE_SYNC, b.CommandComplete): Step.SYNC,
    (Step.CLOSE, b.CloseComplete): None,
    (Step.SYNC, b.ReadyForQuery): None,
}

#: Steps that belong to the simple Query protocol: after an ErrorResponse the server skips the rest of
#: the query string and sends ReadyForQuery, so the request goes back to QUERY (docs §55.2.2).
SIMPLE_STEPS: Final = frozenset(
    {Step.QUERY, Step.QUERY_ROWS, Step.QUERY_COPY_IN, Step.QUERY_COPY_OUT, Step.QUERY_COPY_DONE}
)
#: Steps during which the server waits for CopyData from us.
COPY_IN_STEPS: Final = frozenset({Step.QUERY_COPY_IN, Step.EXECUTE_COPY_IN, Step.EXECUTE_COPY_IN_SYNC})
#: Steps during which DataRows arrive (the client's fast path).
ROW_STEPS: Final = frozenset({Step.QUERY_ROWS, Step.EXECUTE, Step.EXECUTE_SYNC})
#: Steps whose request part carries its own Sync. After an ErrorResponse the server discards messages
#: until that Sync and answers it with ReadyForQuery (docs §55.2.3), so the step becomes SYNC.
SYNCED_STEPS: Final = frozenset(
    {Step.BIND_EXECUTE_SYNC, Step.EXECUTE_SYNC, Step.EXECUTE_COPY_IN_SYNC, Step.EXECUTE_COPY_OUT_SYNC,
     Step.EXECUTE_COPY_DONE_SYNC}
)  # fmt: skip
# Any other step is extended protocol too: after an ErrorResponse every pending step before the next
# SYNC (or the next step of SYNCED_STEPS) is dropped.
