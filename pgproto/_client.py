"""Client: receive_data / next_event / data_to_send. Joins the buffer, the codecs, the state tables,
authentication and the injected clock.

It never does I/O and never reads the system clock itself.
"""

from __future__ import annotations

import enum
import struct
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from . import _backend as b
from . import _frontend as f
from . import events as ev
from ._auth import SCRAM_SHA_256, ScramSha256, md5_password
from ._binds import BindEncoder, plan_bind
from ._buffer import DEFAULT_MAX_MESSAGE_SIZE, ReceiveBuffer
from ._rows import RowPlan
from ._slots import slot_constructor
from ._state import (
    ANYTIME,
    COPY_IN_STEPS,
    PHASE_TRANSITIONS,
    ROW_STEPS,
    SIMPLE_STEPS,
    STEPS,
    SYNCED_STEPS,
    Phase,
    Step,
)
from ._types import (
    BINARY_FORMAT,
    Decoder,
    Encoder,
    decoder,
    encoder,
    fixed_binary,
    infer_oid,
    result_format,
    text_encode,
)
from .errors import ArgumentError, AuthenticationError, ConnectionDoesNotExistError, InterfaceError, ProtocolError


class _NeedData(enum.Enum):
    #: next_event() has nothing more until receive_data() is called again.
    NEED_DATA = enum.auto()


NEED_DATA = _NeedData.NEED_DATA
"""Returned by `Client.next_event()` when it needs more bytes from the server."""

_I32 = struct.Struct("!i").unpack_from
_I16 = struct.Struct("!h").unpack_from
_I32_I32 = struct.Struct("!ii").unpack_from  # a NotificationResponse's length and pid, in one call
_I32_I16 = struct.Struct("!ih").unpack_from  # a DataRow's length and column count
_DATA_ROW = 68  # b"D"
_NOTIFICATION_RESPONSE = 65  # b"A"
_NOTICE_RESPONSE = 78  # b"N"
#: How far a flood of notifications or notices is parsed ahead of its delivery, in bytes of messages: a few
#: hundred events, so the ones made but not yet handed on stay few and young. Parsing a whole 256 KiB read
#: ahead (thousands of objects alive at once) cost 15% more instructions per notification (issue 6).
_AHEAD_BYTES = 8192
_BIND_COMPLETE = b"2\0\0\0\4"
_READY_FOR_QUERY = b"Z\0\0\0\5"
_COMMAND_COMPLETE = 67  # b"C"
_EXECUTE_ALL = f.execute("", 0)
_SYNC = f.sync()
_EXECUTE_ALL_SYNC = _EXECUTE_ALL + _SYNC
#: Parameters every session starts with: the text codecs read UTF-8, ISO dates and postgres intervals.
_SESSION_DEFAULTS = {"client_encoding": "UTF8", "DateStyle": "ISO", "IntervalStyle": "postgres"}
_AUTH_METHOD_NAMES = {2: "Kerberos V5", 6: "SCM credentials", 7: "GSSAPI", 8: "GSSAPI", 9: "SSPI"}


_NO_COLUMNS: Final = RowPlan((), ())
#: Events are immutable: one ReadyForQuery per transaction status serves every query.
_READY_EVENTS: Final = {status: ev.ReadyForQuery(status) for status in "ITE"}
#: `take_answer` remembers answer ends (CommandComplete + ReadyForQuery) up to this long, this many of them.
_MAX_ANSWER_END = 64
_MAX_ANSWER_ENDS = 64
_STATUS_BY_BYTE: Final = {ord(status): status for status in _READY_EVENTS}
#: The events of every query and notification, built fast (see `_slots`); arguments as their classes take them.
_new_rows: Final = slot_constructor(ev.Rows)
_new_query_complete: Final = slot_constructor(ev.QueryComplete)


def _plan(columns: Sequence[ev.Column]) -> tuple[tuple[Decoder, ...], RowPlan]:
    """The decoders of a result's columns and its row plan, worked out once per RowDescription."""
    decoders = tuple(decoder(c.type_oid, c.format) for c in columns)
    fixed = [fixed_binary(c.type_oid) if c.format == BINARY_FORMAT else None for c in columns]
    return decoders, RowPlan(decoders, fixed)


@dataclass(slots=True)
class _Statement:
    """A described prepared statement, with its codecs planned once."""

    name: str
    query: str
    parameter_oids: tuple[int, ...]
    columns: tuple[ev.Column, ...]
    encoders: tuple[tuple[int, Encoder], ...]
    decoders: tuple[Decoder, ...]
    plan: RowPlan
    #: The Bind message's fixed parts, planned at the first Bind: before the values, and after them.
    bind_parts: tuple[bytes, bytes] | None = None
    #: The whole Bind from one row of arguments (`_binds.plan_bind`), planned at the first Bind.
    bind_encoder: BindEncoder | None = None

    def planned_bind(self) -> tuple[bytes, bytes]:
        """Raises InterfaceError (at the first Bind, not when described) if the server's description
        does not fit in a Bind, e.g. more than 32767 parameters."""
        if self.bind_parts is None:
            self.bind_parts = (
                f.bind_head("", self.name, [fmt for fmt, _ in self.encoders]),
                f.bind_tail([c.format for c in self.columns]),
            )
        return self.bind_parts

    def bind(self, args: tuple[object, ...]) -> bytes | None:
        """The Bind message for `args` by the planned encoder; None for anything but the common case, which
        the careful path (`_encode_args`, `bind_values`) then encodes or reports."""
        if self.bind_encoder is None:
            try:
                head, tail = self.planned_bind()
            except InterfaceError:
                return None  # reported by the careful path, after any error in the arguments themselves
            count = struct.pack("!h", len(self.encoders))
            self.bind_encoder = plan_bind(head + count, [encode for _, encode in self.encoders], tail) or _unplanned
        return self.bind_encoder(args)


def _unplanned(args: tuple[object, ...]) -> None:
    """The Bind encoder of a statement with too many parameters to plan: always the careful path."""
    return None


@dataclass(slots=True)
class _Pending:
    """One request part in flight, oldest first."""

    step: Step
    query: str
    args: tuple[object, ...]
    queued_at: float
    # The statement's fields come first and are passed by position: keywords cost a third of the
    # construction, which is once per query.
    statement: str = ""
    decoders: tuple[Decoder, ...] = ()
    plan: RowPlan = _NO_COLUMNS
    columns: tuple[ev.Column, ...] = ()
    parameter_oids: tuple[int, ...] = ()
    decode_failed: bool = False
    #: A row of a batch other than its last: its CommandComplete only moves the batch on, with no
    #: QueryComplete (the drivers report a batch as one query; per-row events cost a third of it).
    quiet: bool = False


class Client:
    """A PostgreSQL protocol v3 client session, without I/O.

    Feed it what the server sent with `receive_data`, take events with `next_event` until it returns
    `NEED_DATA`, and send what `data_to_send` returns. The StartupMessage is queued on creation.

    Args:
        user: the role to log in as.
        database: the database; the server defaults it to the user name.
        password: for cleartext, md5 and SCRAM-SHA-256 authentication.
        params: other session parameters for the StartupMessage (e.g. application_name).
        clock: seconds from an arbitrary origin; used to time queries.
        max_message_size: the largest server message accepted, in bytes.
    """

    def __init__(
        self,
        user: str,
        database: str | None = None,
        password: str | None = None,
        params: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        if password is not None and "\0" in password:
            raise InterfaceError("the password contains a NUL character, which PostgreSQL cannot receive")
        self.user = user
        self._password = password
        self._clock = clock
        self._buffer = ReceiveBuffer(max_message_size)
        self._out: list[bytes] = []
        self._phase = Phase.STARTING
        self._error: ProtocolError | None = None
        self._eof = False
        self._scram: ScramSha256 | None = None
        self._pending: deque[_Pending] = deque()
        #: Events parsed ahead, not yet returned: a run of notifications (`_parse_notifications_ahead`), or the
        #: rest of a prepared execute's answer (`take_answer` in `next_event`, which has moved the state on already).
        self._ready: deque[ev.Event] = deque()
        self._statements: dict[str, _Statement] = {}
        #: Answer ends `take_answer` parsed, as received: their command tag and transaction status.
        self._answer_ends: dict[bytes, tuple[str, str]] = {}
        #: Run-time parameters as last reported by the server (ParameterStatus).
        self.parameters: dict[str, str] = {}
        #: The backend's process id and secret key, for CancelRequest (None until BackendKeyData).
        self.backend_pid: int | None = None
        self.secret_key: bytes | None = None
        #: I (idle), T (in a transaction block) or E (in a failed transaction block), from ReadyForQuery.
        self.transaction_status = "I"
        startup = {"user": user, **_SESSION_DEFAULTS, **(params or {})}
        if database is not None:
            startup["database"] = database
        self._out.append(f.startup_message(startup))

    # -- state --------------------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        """Where the session is in its life (see `pgproto._state.Phase`)."""
        return self._phase

    @property
    def is_ready(self) -> bool:
        """True once startup finished and while the session lasts."""
        return self._phase is Phase.READY

    @property
    def is_idle(self) -> bool:
        """True when ready and no request is in flight."""
        return self._phase is Phase.READY and not self._pending

    @property
    def is_closed(self) -> bool:
        """True once the session ended or failed."""
        return self._phase in (Phase.CLOSED, Phase.FAILED)

    def statement(self, name: str) -> ev.StatementPrepared | None:
        """The description of prepared statement `name`, or None if it is not prepared."""
        st = self._statements.get(name)
        if st is None:
            return None
        return ev.StatementPrepared(st.name, st.query, st.parameter_oids, st.columns)

    # -- bytes in, events out -----------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add bytes received from the server; b"" means the server closed the connection (EOF)."""
        if self._error is not None:
            raise type(self._error)(*self._error.args)
        if self._phase is Phase.CLOSED:
            return
        if not data:
            self._eof = True
        elif type(data) is bytes:  # the usual case: no copy to make, so no call to make one
            self._buffer.feed(data)
        else:
            self._buffer.feed(bytes(data))

    def next_event(self) -> ev.Event | _NeedData:
        """The next event, or NEED_DATA when the bytes received so far hold no more.

        Raises:
            ProtocolError: the server's bytes broke the protocol; the client is failed from then on.
        """
        if self._ready:  # parsed ahead (floods, a one-pass answer); emptied when the session ends or fails
            return self._ready.popleft()
        if self._error is not None:
            raise type(self._error)(*self._error.args)
        buffer = self._buffer
        if buffer.pos == len(buffer.data) and not self._eof:
            return NEED_DATA  # all parsed: the usual last call after each read, answered first (issue 6)
        try:
            while self._phase is not Phase.CLOSED:
                if self._ready:
                    return self._ready.popleft()
                buffer = self._buffer
                data, pos = buffer.data, buffer.pos
                if pos == len(data) and not self._eof:
                    return NEED_DATA
                pending = self._pending
                if pending and pending[0].quiet and self._skip_quiet_rows():
                    continue
                if pending and pending[0].step is Step.BIND_EXECUTE_SYNC:
                    # A prepared execute's whole answer in one pass: its first event, the rest into `_ready`
                    # (issue 6: framing, parsing and stepping each message was most of a `SELECT 1`'s time).
                    head = pending[0]
                    answer = self.take_answer()
                    if answer is not None:
                        complete = _new_query_complete(answer[1], head.query, head.args, self._clock() - head.queued_at)
                        ready = _READY_EVENTS[self.transaction_status]
                        if not answer[0]:
                            self._ready.append(ready)
                            return complete
                        self._ready.append(complete)
                        self._ready.append(ready)
                        return _new_rows(answer[0])
                if pos < len(data) and data[pos] == _DATA_ROW and pending and pending[0].step in ROW_STEPS:
                    rows = self._maybe_rows(pending[0])
                    if rows is not None:
                        return rows
                frame = buffer.maybe_frame()
                if frame is None:
                    if self._eof:
                        self._phase = Phase.CLOSED
                        self._pending.clear()
                        return ev.Terminated(None)
                    return NEED_DATA
                kind, start, end = frame
                # Notifications and notices come in floods (LISTEN, RAISE NOTICE) and mean the same in every
                # state (ANYTIME): their events are made straight from the bytes.
                if kind == _NOTIFICATION_RESPONSE:
                    notification = b.notification(data, start, end)
                    self._parse_notifications_ahead()
                    return notification
                if kind == _NOTICE_RESPONSE:
                    notice = b.parse_notice("NoticeResponse", data, start, end)
                    self._parse_notices_ahead()
                    return notice
                event = self._handle(kind, b.parse(kind, data, start, end))
                if event is not None:
                    return event
            return NEED_DATA
        except ProtocolError as exc:
            self._phase = Phase.FAILED
            self._error = exc
            self._ready.clear()
            raise

    def data_to_send(self) -> bytes:
        """Everything queued for the server since the last call."""
        out = b"".join(self._out)
        self._out.clear()
        return out

    # -- requests ------------------------------------------------------------------------------------

    def query(self, text: str) -> None:
        """Queue a simple Query: one or more `;`-separated statements, text results, no parameters."""
        self._check_can_send()
        self._out.append(f.query(text))
        self._pending.append(_Pending(Step.QUERY, text, (), self._clock()))

    def prepare(self, name: str, text: str, parameter_oids: Sequence[int] = (), *, sync: bool = True) -> None:
        """Queue Parse and Describe for a named (or, with "", the unnamed) statement.

        A `StatementPrepared` event follows once the server has described it; from then on
        `execute_prepared(name, ...)` may run it.
        """
        self._check_can_send()
        out = f.parse(name, text, parameter_oids) + f.describe_statement(name)
        now = self._clock()
        self._pending.append(_Pending(Step.PARSE, text, (), now, statement=name))
        self._pending.append(_Pending(Step.DESCRIBE_STATEMENT, text, (), now, statement=name))
        self._out.append(out)
        if sync:
            self.sync()

    def execute_prepared(
        self, name: str, args: Sequence[object] = (), *, max_rows: int = 0, sync: bool = True
    ) -> None:
        """Queue Bind and Execute of prepared statement `name` with `args`, then Sync unless told not to.

        Parameters are encoded for the types the server described, results requested in the format
        each column's type decodes fastest.

        Raises:
            InterfaceError: the statement is not prepared, or the argument count is wrong.
            ArgumentError: an argument cannot be encoded for its parameter's type.
        """
        if self._phase is not Phase.READY:
            self._check_can_send()
        st = self._statements.get(name)
        if st is None:
            raise InterfaceError(f"statement {name!r} is not prepared on this connection")
        args = tuple(args)
        planned = st.bind_encoder  # `_bind`, inline once planned: once per query (issue 6)
        bind = self._bind(st, args) if planned is None else planned(args) or self._bind_carefully(st, args)
        if max_rows == 0 and sync:
            tail = _EXECUTE_ALL_SYNC
        else:
            execute = _EXECUTE_ALL if max_rows == 0 else f.execute("", max_rows)
            tail = execute + _SYNC if sync else execute
        now = self._clock()
        # One pending step for the whole request (its Sync included): see Step.BIND_EXECUTE_SYNC.
        step = Step.BIND_EXECUTE_SYNC if sync else Step.BIND_EXECUTE
        self._pending.append(_Pending(step, st.query, args, now, name, st.decoders, st.plan, st.columns))
        self._out.append(bind + tail)

    def execute_prepared_many(self, name: str, args_seq: Sequence[Sequence[object]], *, first_row: int = 1) -> None:
        """Queue Bind and Execute of statement `name` once per argument tuple, then one Sync.

        Every tuple is encoded before anything is queued, so a bad argument leaves nothing half-sent.
        Errors number the rows from `first_row` (for a batch sent in parts).
        The batch reports one QueryComplete, for its last row (the tag, and the whole batch's duration);
        a failing row reports QueryFailed with its own args, and the server skips the rest.

        Raises:
            InterfaceError: the statement is not prepared, or an argument count is wrong.
            ArgumentError: an argument cannot be encoded for its parameter's type.
        """
        self._check_can_send()
        st = self._statements.get(name)
        if st is None:
            raise InterfaceError(f"statement {name!r} is not prepared on this connection")
        rows = [tuple(args) for args in args_seq]
        messages = []
        for number, args in enumerate(rows, first_row):
            try:
                messages.append(self._bind(st, args) + _EXECUTE_ALL)
            except InterfaceError as exc:
                raise type(exc)(f"row {number}: {exc}") from exc
        self._out.extend(messages)
        now = self._clock()
        query, decoders, plan, columns = st.query, st.decoders, st.plan, st.columns
        pending = self._pending
        for args in rows:
            pending.append(_Pending(Step.BIND_EXECUTE, query, args, now, name, decoders, plan, columns, quiet=True))
        if rows:
            pending[-1].quiet = False  # the last row's QueryComplete carries the batch's tag and duration
        self.sync()

    def extended_query(self, text: str, args: Sequence[object] = (), *, sync: bool = True) -> None:
        """Queue a one-shot extended query: unnamed Parse, Bind, Describe, Execute (and Sync).

        Parameters go in text format with types guessed from the Python values (or left to the server
        to infer); results come in text format. One round trip, but no binary codecs: for repeated
        queries prefer `prepare` + `execute_prepared`.
        """
        self._check_can_send()
        args = tuple(args)
        try:
            values = [None if a is None else text_encode(a) for a in args]
            oids = [infer_oid(a) for a in args]
        except (TypeError, ValueError) as exc:
            raise ArgumentError(f"invalid query argument: {exc}") from exc
        self._out.append(
            f.parse("", text, oids) + f.bind("", "", [0], values, [0]) + f.describe_portal("") + f.execute("", 0)
        )
        now = self._clock()
        for step in (Step.PARSE, Step.BIND, Step.DESCRIBE_PORTAL, Step.EXECUTE):
            self._pending.append(_Pending(step, text, args, now))
        if sync:
            self.sync()

    def close_statement(self, name: str, *, sync: bool = True) -> None:
        """Queue Close for prepared statement `name`; it is forgotten once CloseComplete arrives."""
        self._check_can_send()
        self._out.append(f.close_statement(name))
        self._pending.append(_Pending(Step.CLOSE, "", (), self._clock(), statement=name))
        if sync:
            self.sync()

    def sync(self) -> None:
        """Queue Sync: ends an extended-protocol request; ReadyForQuery answers it."""
        self._check_can_send()
        last = self._pending[-1] if self._pending else None
        query, args = (last.query, last.args) if last is not None else ("", ())
        self._out.append(f.sync())
        self._pending.append(_Pending(Step.SYNC, query, args, self._clock()))

    def flush(self) -> None:
        """Queue Flush: ask the server to send its pending output without ending the request."""
        self._check_can_send()
        self._out.append(f.flush())

    def copy_data(self, data: bytes) -> None:
        """Queue one chunk of COPY FROM STDIN data (after a CopyInResponse event)."""
        self._check_copy_in()
        self._out.append(f.copy_data(bytes(data)))

    def copy_done(self) -> None:
        """Queue CopyDone: the end of the COPY FROM STDIN data."""
        self._check_copy_in()
        self._out.append(f.copy_done())

    def copy_fail(self, reason: str) -> None:
        """Queue CopyFail: abort COPY FROM STDIN; the server answers with an error naming `reason`."""
        self._check_copy_in()
        self._out.append(f.copy_fail(reason))

    def terminate(self) -> None:
        """Queue Terminate and end the session: no event follows, and nothing more may be sent."""
        if self._phase is Phase.CLOSED or self._error is not None:
            return
        self._out.append(f.terminate())
        self._phase = Phase.CLOSED
        self._pending.clear()
        self._ready.clear()

    def _check_can_send(self) -> None:
        if self._phase in (Phase.READY, Phase.SETTING_UP):
            return
        if self._phase is Phase.STARTING:
            raise InterfaceError("cannot send a request before authentication has finished")
        raise ConnectionDoesNotExistError("the connection is closed")

    def _check_copy_in(self) -> None:
        self._check_can_send()
        if not self._pending or self._pending[0].step not in COPY_IN_STEPS:
            raise InterfaceError("COPY data can only be sent after a CopyInResponse")

    def _bind(self, st: _Statement, args: tuple[object, ...]) -> bytes:
        """The Bind of `st` for `args`: by the planned encoder, else by the careful path, which raises
        InterfaceError or ArgumentError for what is wrong."""
        planned = st.bind_encoder  # set at the statement's first Bind (`_Statement.bind`)
        bind = planned(args) if planned is not None else st.bind(args)
        return bind if bind is not None else self._bind_carefully(st, args)

    def _bind_carefully(self, st: _Statement, args: tuple[object, ...]) -> bytes:
        """The Bind of `st` for `args`, each argument encoded on its own: raises InterfaceError or
        ArgumentError for what is wrong (the planned encoder only declines)."""
        values = self._encode_args(st, args)
        head, tail = st.planned_bind()
        return f.bind_values(head, values, tail)

    def _encode_args(self, st: _Statement, args: tuple[object, ...]) -> list[bytes | None]:
        if len(args) != len(st.encoders):
            raise InterfaceError(
                f"the query expects {len(st.encoders)} argument{'s' * (len(st.encoders) != 1)}, got {len(args)}"
            )
        values: list[bytes | None] = []
        for i, ((_, encode), arg) in enumerate(zip(st.encoders, args), 1):
            if arg is None:
                values.append(None)
                continue
            try:
                values.append(encode(arg))
            except (TypeError, ValueError, OverflowError) as exc:
                raise ArgumentError(f"invalid input for query argument ${i}: {arg!r:.60} ({exc})") from exc
        return values

    # -- message handling ----------------------------------------------------------------------------

    def _handle(self, kind: int, message: b.BackendMessage) -> ev.Event | None:
        cls = type(message)
        if cls in ANYTIME:
            return self._on_anytime(message)
        if isinstance(message, b.ErrorResponse):
            return self._on_error_response(kind, message)
        if self._phase is not Phase.READY:
            return self._on_startup(message)
        pending = self._pending
        if not pending:
            raise ProtocolError(f"unexpected {b.MESSAGE_NAMES[kind]} while no request is in flight")
        head = pending[0]
        try:
            next_step = STEPS[head.step, cls]
        except KeyError:
            raise ProtocolError(f"unexpected {b.MESSAGE_NAMES[kind]} while waiting in step {head.step.name}") from None
        event = None if cls in _PROGRESS_ONLY else self._on_step(head, message)
        if next_step is None:
            pending.popleft()
        else:
            head.step = next_step
        return event

    def _on_error_response(self, kind: int, message: b.ErrorResponse) -> ev.Event | None:
        if _is_fatal(message.fields):
            self._phase = Phase.CLOSED
            self._pending.clear()
            return ev.Terminated(message.fields)
        if self._phase is not Phase.READY:
            return self._on_startup(message)
        if not self._pending:
            raise ProtocolError(f"unexpected {b.MESSAGE_NAMES[kind]} while no request is in flight")
        return self._on_error(self._pending[0], message.fields)

    def _on_anytime(self, message: b.BackendMessage) -> ev.Event:
        if isinstance(message, b.NotificationResponse):
            return ev.Notification(message.pid, message.channel, message.payload)
        if isinstance(message, b.NoticeResponse):
            return message.fields
        assert isinstance(message, b.ParameterStatus)
        self.parameters[message.name] = message.value
        return ev.ParameterStatus(message.name, message.value)

    def _on_startup(self, message: b.BackendMessage) -> ev.Event | None:
        key = (self._phase, type(message))
        if key not in PHASE_TRANSITIONS:
            raise ProtocolError(f"unexpected {type(message).__name__} while {self._phase.name}")
        self._phase = PHASE_TRANSITIONS[key]
        if isinstance(message, b.AuthenticationOk):
            if self._scram is not None and self._scram.phase.name != "DONE":
                raise ProtocolError("AuthenticationOk arrived before the server proved it knows the password")
            return ev.Authenticated()
        if isinstance(message, b.AuthenticationCleartextPassword):
            self._out.append(f.password_message(self._require_password("a cleartext password").encode()))
        elif isinstance(message, b.AuthenticationMD5Password):
            password = self._require_password("an md5 password")
            self._out.append(f.password_message(md5_password(self.user, password, message.salt)))
        elif isinstance(message, b.AuthenticationSASL):
            if SCRAM_SHA_256 not in message.mechanisms:
                raise AuthenticationError(
                    f"the server offers SASL mechanisms {message.mechanisms!r}; pgproto supports SCRAM-SHA-256"
                )
            self._scram = ScramSha256(self._require_password("a SCRAM-SHA-256 password"))
            self._out.append(f.sasl_initial_response(SCRAM_SHA_256, self._scram.client_first()))
        elif isinstance(message, b.AuthenticationSASLContinue):
            if self._scram is None:
                raise ProtocolError("unexpected AuthenticationSASLContinue before AuthenticationSASL")
            self._out.append(f.sasl_response(self._scram.client_final(message.data)))
        elif isinstance(message, b.AuthenticationSASLFinal):
            if self._scram is None:
                raise ProtocolError("unexpected AuthenticationSASLFinal before AuthenticationSASL")
            self._scram.verify_server_final(message.data)
        elif isinstance(message, b.AuthenticationUnsupported):
            method = _AUTH_METHOD_NAMES.get(message.code, str(message.code))
            raise AuthenticationError(f"the server asks for {method} authentication, which pgproto does not support")
        elif isinstance(message, b.NegotiateProtocolVersion):
            return ev.ProtocolVersionNegotiated(message.newest_minor_version, message.unrecognized_options)
        elif isinstance(message, b.BackendKeyData):
            self.backend_pid, self.secret_key = message.pid, message.secret_key
            return ev.BackendKeyData(message.pid, message.secret_key)
        elif isinstance(message, b.ReadyForQuery):
            self.transaction_status = message.transaction_status
            return _READY_EVENTS[message.transaction_status]
        elif isinstance(message, b.ErrorResponse):  # non-FATAL during startup still ends it
            self._pending.clear()
            return ev.Terminated(message.fields)
        return None

    def _require_password(self, what: str) -> str:
        if self._password is None:
            raise AuthenticationError(f"the server asks for {what} for user {self.user!r}, but none was given")
        return self._password

    def _on_error(self, head: _Pending, fields: ev.Notice) -> ev.Event:
        event = ev.QueryFailed(fields, head.query, head.args, self._clock() - head.queued_at)
        if head.step in SIMPLE_STEPS:
            head.step = Step.QUERY
            return event
        # Extended protocol: the server discards everything up to our next Sync (docs §55.2.3).
        pending = self._pending
        while pending and pending[0].step is not Step.SYNC:
            if pending[0].step in SYNCED_STEPS:
                pending[0].step = Step.SYNC  # its own Sync is still answered
                break
            dropped = pending.popleft()
            if dropped.step is Step.DESCRIBE_STATEMENT:
                self._statements.pop(dropped.statement, None)
        return event

    def _on_step(self, head: _Pending, message: b.BackendMessage) -> ev.Event | None:
        if isinstance(message, b.CommandComplete):
            head.decode_failed = False
            if head.quiet:
                return None
            return _new_query_complete(message.tag, head.query, head.args, self._clock() - head.queued_at)
        if isinstance(message, b.ReadyForQuery):
            self.transaction_status = message.transaction_status
            return _READY_EVENTS[message.transaction_status]
        if isinstance(message, b.RowDescription):
            return self._on_row_description(head, message)
        if isinstance(message, b.DataRow):
            # The fast path takes every well-framed DataRow in a row step; a DataRow elsewhere is
            # refused by the STEPS table before it gets here.
            raise AssertionError("DataRow bypassed the fast path")
        if isinstance(message, b.ParameterDescription):
            head.parameter_oids = message.type_oids
            return None
        if isinstance(message, b.NoData):
            if head.step is Step.DESCRIBE_STATEMENT_COLUMNS:
                return self._statement_described(head, ())
            return None
        if isinstance(message, b.EmptyQueryResponse):
            return ev.QueryComplete("", head.query, head.args, self._clock() - head.queued_at)
        if isinstance(message, b.PortalSuspended):
            return ev.PortalSuspended(head.query, head.args, self._clock() - head.queued_at)
        if isinstance(message, b.CloseComplete):
            self._statements.pop(head.statement, None)
            return ev.StatementClosed(head.statement)
        if isinstance(message, b.CopyInResponse):
            return ev.CopyInResponse(message.format, message.column_formats)
        if isinstance(message, b.CopyOutResponse):
            return ev.CopyOutResponse(message.format, message.column_formats)
        if isinstance(message, b.CopyBothResponse):
            return ev.CopyBothResponse(message.format, message.column_formats)
        if isinstance(message, b.CopyData):
            return ev.CopyData(message.data)
        if isinstance(message, b.CopyDone):
            return ev.CopyDone()
        return None  # ParseComplete, BindComplete: progress only

    def _on_row_description(self, head: _Pending, message: b.RowDescription) -> ev.Event | None:
        if head.step is Step.DESCRIBE_STATEMENT_COLUMNS:
            # A statement's description reports format 0; we pick each column's format for its Binds.
            columns = tuple(_column(fd, result_format(fd.type_oid)) for fd in message.fields)
            return self._statement_described(head, columns)
        columns = tuple(_column(fd, fd.format) for fd in message.fields)
        decoders, plan = _plan(columns)
        if head.step is Step.DESCRIBE_PORTAL:
            target = self._pending[1] if len(self._pending) > 1 else None
            if target is None or target.step is not Step.EXECUTE:
                raise ProtocolError("RowDescription for a portal that is not executed next")
            target.decoders, target.plan, target.columns = decoders, plan, columns
        else:
            head.decoders, head.plan, head.columns = decoders, plan, columns
        return ev.RowDescription(columns)

    def _statement_described(self, head: _Pending, columns: tuple[ev.Column, ...]) -> ev.Event:
        oids = head.parameter_oids
        st = _Statement(head.statement, head.query, oids, columns, tuple(encoder(oid) for oid in oids), *_plan(columns))
        self._statements[st.name] = st
        return ev.StatementPrepared(st.name, st.query, oids, columns)

    # -- the executemany hot path --------------------------------------------------------------------

    def _skip_quiet_rows(self) -> bool:
        """Pass over the answers of quiet batch rows, in place: whole BindComplete + CommandComplete pairs.

        What the table does for such a row ((BIND_EXECUTE, BindComplete) -> EXECUTE, then CommandComplete
        ends it with no event), without framing, parsing and stepping each message (issue 6: that was
        most of executemany's parse cost). Anything else, or a tag that is not plain ASCII, is left to
        the general path, which reports what is wrong. True if a row was passed over.
        """
        buf = self._buffer
        data, pos = buf.data, buf.pos
        start = pos
        end = len(data)
        pending = self._pending
        while pending and pending[0].quiet and pending[0].step is Step.BIND_EXECUTE:
            if end - pos < 10 or data[pos + 5] != _COMMAND_COMPLETE or not data.startswith(_BIND_COMPLETE, pos):
                break
            (length,) = _I32(data, pos + 6)
            stop = pos + 6 + length
            if length < 5 or length > buf.max_message_size or stop > end:
                break
            if data.find(b"\0", pos + 10, stop) != stop - 1 or not data[pos + 10 : stop - 1].isascii():
                break
            pending.popleft()
            pos = stop
        buf.pos = pos
        return pos != start

    # -- the prepared-execute hot path ---------------------------------------------------------------

    def take_answer(self) -> tuple[list[tuple[object, ...]], str] | None:
        """The next request's whole answer in one step, when it is a prepared execute (`execute_prepared`
        with its Sync) and all of it is here in its usual shape (BindComplete, DataRows, CommandComplete,
        ReadyForQuery): its rows and command tag, taken as its Rows, QueryComplete and ReadyForQuery events
        would have been (the transaction status moves on; no QueryComplete, so no clock read).

        None, with nothing taken, otherwise: events parsed ahead come first, another request is ahead, a
        notice or an error is among its messages, a row does not decode, the answer is still arriving.
        Then `next_event` takes it, message by message. For drivers that read a query's answer rather than
        its events (issue 6: building the three events was a tenth of a `SELECT 1`'s client time).

        Raises:
            ProtocolError: the client failed earlier (as `next_event`).
        """
        if self._error is not None:
            raise type(self._error)(*self._error.args)
        pending = self._pending
        if self._ready or not pending:
            return None
        head = pending[0]
        if head.step is not Step.BIND_EXECUTE_SYNC:
            return None
        buf = self._buffer
        data, pos = buf.data, buf.pos
        end = len(data)
        # Only bytes that end with a ReadyForQuery can hold the whole answer: a large result arriving in
        # chunks is not scanned at every chunk.
        if not data.startswith(_READY_FOR_QUERY, end - 6) or not data.startswith(_BIND_COMPLETE, pos):
            return None
        pos += 5
        limit = buf.max_message_size
        plan = head.plan
        width = len(head.decoders)
        rows: list[tuple[object, ...]] = []
        last = end - 6  # where the last ReadyForQuery starts: every message before it ends by then
        while data[pos] == _DATA_ROW:
            length, count = _I32_I16(data, pos + 1)  # the row's length and column count in one call
            stop = pos + 1 + length
            if length < 6 or length > limit or stop > last or count != width:
                return None
            row = plan.decode(data, pos + 7, stop)
            if row is None:
                return None
            rows.append(row)
            pos = stop
        # The answer's end (CommandComplete, ReadyForQuery) repeats from query to query: one parsed before is
        # looked up whole (issue 6: its four checks and the tag's decode were 4.8k of 35.2k instructions).
        seen = self._answer_ends.get(data[pos:]) if end - pos <= _MAX_ANSWER_END else None
        if seen is not None:
            buf.pos = end
            pending.popleft()
            self.transaction_status = seen[1]
            return rows, seen[0]
        if data[pos] != _COMMAND_COMPLETE:
            return None
        (length,) = _I32(data, pos + 1)
        stop = pos + 1 + length
        if length < 5 or stop > last or data.find(b"\0", pos + 5, stop) != stop - 1:
            return None
        try:
            tag = data[pos + 5 : stop - 1].decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not data.startswith(_READY_FOR_QUERY, stop):
            return None
        status = _STATUS_BY_BYTE.get(data[stop + 5])
        if status is None:
            return None
        buf.pos = stop + 6
        pending.popleft()
        self.transaction_status = status
        if stop + 6 == end and end - pos <= _MAX_ANSWER_END:
            if len(self._answer_ends) >= _MAX_ANSWER_ENDS:
                self._answer_ends.clear()
            self._answer_ends[data[pos:]] = (tag, status)
        return rows, tag

    # -- the NotificationResponse hot path -----------------------------------------------------------

    def _parse_notifications_ahead(self) -> None:
        """Parse every whole, well-formed NotificationResponse at the front of the buffer in one pass, into
        `_ready` (LISTEN floods arrive by the thousand: no framing call, no parse call per message; issue 6).

        Stops before an incomplete or malformed one, which the general path then waits for or reports
        (`b.notification`), after the ones before it.
        """
        buf = self._buffer
        data, pos = buf.data, buf.pos
        end = len(data)
        limit = buf.max_message_size
        ready = self._ready
        new_notification = b.new_notification
        stop_after = pos + _AHEAD_BYTES
        while end - pos >= 9 and data[pos] == _NOTIFICATION_RESPONSE and pos < stop_after:
            length, pid = _I32_I32(data, pos + 1)
            stop = pos + 1 + length  # the message's end: the payload's NUL is its last byte
            if length < 10 or length > limit or stop > end or data[stop - 1]:
                break  # incomplete, too short for a pid and two strings, or not NUL-terminated
            try:  # channel and payload in one decode, then cut at the NUL between them
                channel, between, payload = data[pos + 9 : stop - 1].decode("utf-8").partition("\0")
            except UnicodeDecodeError:
                break
            if not between or "\0" in payload:
                break
            ready.append(new_notification(pid, channel, payload))
            pos = stop
        buf.pos = pos

    def _parse_notices_ahead(self) -> None:
        """Parse every whole, well-formed NoticeResponse at the front of the buffer into `_ready`, as
        `_parse_notifications_ahead` does for a LISTEN flood (a DO block's RAISE NOTICE loop; issue 6).

        Stops before an incomplete or malformed one, which the general path then waits for or reports.
        """
        buf = self._buffer
        data, pos = buf.data, buf.pos
        end = len(data)
        limit = buf.max_message_size
        ready = self._ready
        parse_notice = b.parse_notice
        stop_after = pos + _AHEAD_BYTES
        while end - pos >= 5 and data[pos] == _NOTICE_RESPONSE and pos < stop_after:
            (length,) = _I32(data, pos + 1)
            stop = pos + 1 + length
            if length < 5 or length > limit or stop > end:
                break  # incomplete, or too short for the terminator
            try:
                ready.append(parse_notice("NoticeResponse", data, pos + 5, stop))
            except ProtocolError:
                break
            pos = stop
        buf.pos = pos

    # -- the DataRow hot path ------------------------------------------------------------------------

    def _maybe_rows(self, head: _Pending) -> ev.Event | None:
        """Decode every whole DataRow at the front of the buffer, in place, in one pass.

        Stops before a malformed row or a value that fails to decode, so the rows before it are
        emitted first however the bytes were chunked; the next call then reports the bad row.
        """
        buf = self._buffer
        data, pos = buf.data, buf.pos
        end = len(data)
        limit = buf.max_message_size
        skip = head.decode_failed
        decoders = head.decoders
        plan = head.plan
        width = len(decoders)
        rows: list[tuple[object, ...]] = []
        while end - pos >= 7 and data[pos] == _DATA_ROW:  # 7: the type, length and column count
            length, count = _I32_I16(data, pos + 1)
            stop = pos + 1 + length
            if length < 6 or length > limit or stop > end:
                break  # incomplete, or malformed: the general path waits or reports it
            try:
                # The plan reads the well-formed row; the careful path takes the rest, and says what is wrong.
                row = None if skip or count != width else plan.decode(data, pos + 7, stop)
                if row is None:
                    row = _decode_row(data, pos, stop, width, None if skip else decoders)
            except ProtocolError:
                if rows:
                    break
                raise
            except _DECODE_ERRORS as exc:
                if rows:
                    break
                head.decode_failed = True
                buf.pos = stop
                column = head.columns[_failed_column(data, pos, stop, decoders)]
                return ev.DecodeFailed(column.name, column.type_oid, str(exc) or type(exc).__name__)
            if not skip:
                rows.append(row)
            pos = stop
        buf.pos = pos
        return _new_rows(rows) if rows else None


#: Messages that only move the pending request on (their step's table entry says where); no event.
_PROGRESS_ONLY: Final = frozenset({b.ParseComplete, b.BindComplete})

#: What a value decoder raises for bytes it cannot turn into a Python value.
_DECODE_ERRORS = (ValueError, ArithmeticError, IndexError, struct.error)


def _decode_row(
    data: bytes, pos: int, stop: int, width: int, decoders: tuple[Decoder, ...] | None
) -> tuple[object, ...]:
    """The values of the DataRow in data[pos:stop] (type byte included); ProtocolError if malformed.

    With `decoders` None the values are only framed, not decoded (the rest of a failed result).
    """
    (count,) = _I16(data, pos + 5)
    if count != width:
        raise ProtocolError(f"DataRow has {count} columns but RowDescription announced {width}")
    p = pos + 7
    values: list[object] = []
    append = values.append
    for decode in decoders if decoders is not None else (None,) * width:
        if p + 4 > stop:
            raise ProtocolError(f"DataRow is cut short: {count} values announced in {stop - pos - 5} bytes")
        (n,) = _I32(data, p)
        p += 4
        if n == -1:
            append(None)
            continue
        if n < 0 or p + n > stop:
            raise ProtocolError(f"DataRow value of {n} bytes at byte {p - pos - 1} runs past the message's end")
        append(None if decode is None else decode(data[p : p + n]))
        p += n
    if p != stop:
        raise ProtocolError(f"DataRow has {stop - p} unexpected trailing bytes")
    return tuple(values)


def _failed_column(data: bytes, pos: int, stop: int, decoders: tuple[Decoder, ...]) -> int:
    """The position of the first value of a (well-framed) DataRow that its decoder rejects."""
    p = pos + 7
    for i, decode in enumerate(decoders):
        (n,) = _I32(data, p)
        p += 4
        if n >= 0:
            try:
                decode(data[p : p + n])
            except _DECODE_ERRORS:
                return i
            p += n
    return 0


def _column(fd: b.FieldDescription, fmt: int) -> ev.Column:
    return ev.Column(fd.name, fd.table_oid, fd.column_number, fd.type_oid, fd.type_size, fd.type_modifier, fmt)


def _is_fatal(fields: ev.Notice) -> bool:
    severity = fields.severity_nonlocalized or fields.severity
    return severity in ("FATAL", "PANIC")
