"""Walk the transition tables of _state.py: every listed pair moves as listed, every other pair is refused.

For each state a driver brings a real client there through ordinary requests and server bytes; the
message under test is then fed and the client's phase, or its queue of pending steps, is compared with
the table.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import pytest

import pgproto
from pgproto import AuthenticationError, Client, Phase, ProtocolError
from pgproto import _backend as b
from pgproto import events as ev
from pgproto._auth import ScramSha256
from pgproto._state import (
    ANYTIME,
    COPY_IN_STEPS,
    PHASE_TRANSITIONS,
    ROW_STEPS,
    SIMPLE_STEPS,
    STEPS,
    SYNCED_STEPS,
    Step,
)

from .helpers import (
    BIND_COMPLETE,
    CLOSE_COMPLETE,
    COPY_DONE,
    EMPTY_QUERY_RESPONSE,
    INT4,
    NO_DATA,
    PARSE_COMPLETE,
    PORTAL_SUSPENDED,
    Field,
    auth,
    auth_cleartext,
    auth_md5,
    auth_ok,
    auth_sasl,
    auth_sasl_continue,
    auth_sasl_final,
    backend_key_data,
    command_complete,
    copy_both_response,
    copy_data,
    copy_in_response,
    copy_out_response,
    data_row,
    drain,
    error_response,
    feed,
    int4_value,
    negotiate_protocol_version,
    new_client,
    notice_response,
    notification,
    parameter_description,
    parameter_status,
    ready,
    ready_client,
    row_description,
    steps,
)
from .test_auth import RFC_NONCE, RFC_SERVER_FINAL, RFC_SERVER_FIRST

A = Field("a", INT4)

#: One well-formed message of each type, fitting the states the drivers below create.
SAMPLES: dict[type[b.BackendMessage], bytes] = {
    b.AuthenticationOk: auth_ok(),
    b.AuthenticationCleartextPassword: auth_cleartext(),
    b.AuthenticationMD5Password: auth_md5(b"salt"),
    b.AuthenticationSASL: auth_sasl("SCRAM-SHA-256"),
    b.AuthenticationSASLContinue: auth_sasl_continue(RFC_SERVER_FIRST),
    b.AuthenticationSASLFinal: auth_sasl_final(RFC_SERVER_FINAL),
    b.AuthenticationUnsupported: auth(7),
    b.BackendKeyData: backend_key_data(1, b"\0\0\0\1"),
    b.BindComplete: BIND_COMPLETE,
    b.CloseComplete: CLOSE_COMPLETE,
    b.CommandComplete: command_complete("SELECT 1"),
    b.CopyInResponse: copy_in_response(0, 0),
    b.CopyOutResponse: copy_out_response(0, 0),
    b.CopyBothResponse: copy_both_response(0, 0),
    b.CopyData: copy_data(b"1\n"),
    b.CopyDone: COPY_DONE,
    b.DataRow: data_row(b"1"),
    b.EmptyQueryResponse: EMPTY_QUERY_RESPONSE,
    b.ErrorResponse: error_response("ERROR", "XX000", "not fatal"),
    b.NegotiateProtocolVersion: negotiate_protocol_version(0, "_pq_.x"),
    b.NoData: NO_DATA,
    b.NoticeResponse: notice_response(),
    b.NotificationResponse: notification(1, "c", "p"),
    b.ParameterDescription: parameter_description(INT4),
    b.ParameterStatus: parameter_status("a", "b"),
    b.ParseComplete: PARSE_COMPLETE,
    b.PortalSuspended: PORTAL_SUSPENDED,
    b.ReadyForQuery: ready(),
    b.RowDescription: row_description(A),
}
ALL_MESSAGES = list(SAMPLES)
ANYTIME_MESSAGES: list[type[b.BackendMessage]] = sorted(ANYTIME, key=lambda m: m.__name__)


def test_samples_cover_every_message_and_decode_to_their_type() -> None:
    assert set(SAMPLES) == set(b.BackendMessage.__args__)
    for cls, data in SAMPLES.items():
        assert type(b.parse(data[0], data[5:])) is cls


@pytest.fixture(autouse=True)
def rfc_scram(monkeypatch: pytest.MonkeyPatch) -> None:
    """SCRAM with RFC 7677's nonce and user name, so that its server messages verify."""
    monkeypatch.setattr(pgproto._client, "ScramSha256", functools.partial(ScramSha256, nonce=RFC_NONCE, user="user"))


def name_of(cls: type[b.BackendMessage]) -> str:
    """The protocol's name for a message type, as the client's step errors spell it."""
    return b.MESSAGE_NAMES[SAMPLES[cls][0]]


# -- phases ------------------------------------------------------------------------------------------------


def starting(before: type[b.BackendMessage] | None = None) -> Client:
    """A client in STARTING; with the SASL messages that must come before `before` already exchanged."""
    client = new_client("pencil")
    if before is b.AuthenticationSASLContinue:
        feed(client, SAMPLES[b.AuthenticationSASL])
    elif before is b.AuthenticationSASLFinal:
        feed(client, SAMPLES[b.AuthenticationSASL] + SAMPLES[b.AuthenticationSASLContinue])
    assert client.phase is Phase.STARTING
    return client


def setting_up(before: type[b.BackendMessage] | None = None) -> Client:
    client = new_client()
    feed(client, auth_ok())
    assert client.phase is Phase.SETTING_UP
    return client


PHASE_DRIVERS: dict[Phase, Callable[[type[b.BackendMessage] | None], Client]] = {
    Phase.STARTING: starting,
    Phase.SETTING_UP: setting_up,
}


@pytest.mark.parametrize(
    ("phase", "message", "target"),
    [(phase, message, target) for (phase, message), target in PHASE_TRANSITIONS.items()],
    ids=[f"{phase.name}-{message.__name__}" for phase, message in PHASE_TRANSITIONS],
)
def test_listed_phase_transition(phase: Phase, message: type[b.BackendMessage], target: Phase) -> None:
    client = PHASE_DRIVERS[phase](message)
    client.receive_data(SAMPLES[message])
    if message is b.AuthenticationUnsupported:
        # Listed, so it is no protocol violation; but the client cannot go on, and says why.
        with pytest.raises(AuthenticationError, match="GSSAPI"):
            drain(client)
        assert client.phase is Phase.FAILED
        return
    events = drain(client)
    assert client.phase is target
    if target is Phase.CLOSED:
        assert events[-1] == ev.Terminated(ev.Notice(severity="ERROR", severity_nonlocalized="ERROR",
                                                     sqlstate="XX000", message="not fatal"))  # fmt: skip


def unlisted_phase_pairs() -> Iterator[tuple[Phase, type[b.BackendMessage]]]:
    for phase in PHASE_DRIVERS:
        for message in ALL_MESSAGES:
            if (phase, message) not in PHASE_TRANSITIONS and message not in ANYTIME:
                yield phase, message


@pytest.mark.parametrize(
    ("phase", "message"),
    list(unlisted_phase_pairs()),
    ids=[f"{phase.name}-{message.__name__}" for phase, message in unlisted_phase_pairs()],
)
def test_unlisted_phase_pair_is_refused(phase: Phase, message: type[b.BackendMessage]) -> None:
    client = PHASE_DRIVERS[phase](None)
    client.receive_data(SAMPLES[message])
    with pytest.raises(ProtocolError) as info:
        drain(client)
    assert str(info.value) == f"unexpected {message.__name__} while {phase.name}"
    assert client.phase is Phase.FAILED


@pytest.mark.parametrize("phase", list(PHASE_DRIVERS), ids=lambda p: p.name)
@pytest.mark.parametrize("message", ANYTIME_MESSAGES, ids=[m.__name__ for m in ANYTIME_MESSAGES])
def test_anytime_messages_leave_the_phase_alone(phase: Phase, message: type[b.BackendMessage]) -> None:
    client = PHASE_DRIVERS[phase](None)
    assert len(feed(client, SAMPLES[message])) == 1
    assert client.phase is phase


def test_fatal_error_closes_every_phase() -> None:
    for phase, drive in PHASE_DRIVERS.items():
        client = drive(None)
        events = feed(client, error_response("FATAL", "57P01", "bye"))
        assert [type(e) for e in events] == [ev.Terminated], phase
        assert client.phase is Phase.CLOSED


# -- steps -------------------------------------------------------------------------------------------------


def answered(client: Client, *then: bytes) -> Client:
    """`client` after the server sent `then` (nothing at all when empty: b"" would be EOF)."""
    if then:
        feed(client, b"".join(then))
    return client


def querying(*then: bytes) -> Client:
    client = ready_client()
    client.query("SELECT a")
    return answered(client, *then)


def preparing(*then: bytes) -> Client:
    client = ready_client()
    client.prepare("s", "SELECT $1::int4 AS a")
    return answered(client, *then)


def executing(*then: bytes) -> Client:
    """A prepared statement's Bind + Execute + Sync (one pending step), after the server sent `then`."""
    client = preparing(PARSE_COMPLETE + parameter_description(INT4) + row_description(A) + ready())
    client.execute_prepared("s", [1])
    return answered(client, *then)


def executing_copy(*then: bytes) -> Client:
    """As `executing`, for a statement without result columns (COPY)."""
    client = preparing(PARSE_COMPLETE + parameter_description(INT4) + NO_DATA + ready())
    client.execute_prepared("s", [1])
    return answered(client, BIND_COMPLETE, *then)


def batching() -> Client:
    client = preparing(PARSE_COMPLETE + parameter_description(INT4) + row_description(A) + ready())
    client.execute_prepared_many("s", [(1,), (2,)])
    return client


def extended(*then: bytes) -> Client:
    client = ready_client()
    client.extended_query("SELECT a")
    feed(client, PARSE_COMPLETE + BIND_COMPLETE + b"".join(then))
    return client


def binding() -> Client:
    client = ready_client()
    client.extended_query("SELECT a")
    return answered(client, PARSE_COMPLETE)


def closing() -> Client:
    client = executing(BIND_COMPLETE + data_row(int4_value(1)) + command_complete("SELECT 1") + ready())
    client.close_statement("s")
    return client


def syncing() -> Client:
    client = ready_client()
    client.sync()
    return client


STEP_DRIVERS: dict[Step, Callable[[], Client]] = {
    Step.QUERY: querying,
    Step.QUERY_ROWS: lambda: querying(row_description(A)),
    Step.QUERY_COPY_IN: lambda: querying(copy_in_response(0, 0)),
    Step.QUERY_COPY_OUT: lambda: querying(copy_out_response(0, 0)),
    Step.QUERY_COPY_DONE: lambda: querying(copy_out_response(0, 0), COPY_DONE),
    Step.PARSE: preparing,
    Step.DESCRIBE_STATEMENT: lambda: preparing(PARSE_COMPLETE),
    Step.DESCRIBE_STATEMENT_COLUMNS: lambda: preparing(PARSE_COMPLETE, parameter_description(INT4)),
    Step.BIND: binding,
    Step.BIND_EXECUTE: batching,
    Step.BIND_EXECUTE_SYNC: executing,
    Step.EXECUTE_SYNC: lambda: executing(BIND_COMPLETE),
    Step.EXECUTE_COPY_IN_SYNC: lambda: executing_copy(copy_in_response(0, 0)),
    Step.EXECUTE_COPY_OUT_SYNC: lambda: executing_copy(copy_out_response(0, 0)),
    Step.EXECUTE_COPY_DONE_SYNC: lambda: executing_copy(copy_out_response(0, 0), COPY_DONE),
    Step.DESCRIBE_PORTAL: extended,
    Step.EXECUTE: lambda: extended(row_description(A)),
    Step.EXECUTE_COPY_IN: lambda: extended(NO_DATA, copy_in_response(0, 0)),
    Step.EXECUTE_COPY_OUT: lambda: extended(NO_DATA, copy_out_response(0, 0)),
    Step.EXECUTE_COPY_DONE: lambda: extended(NO_DATA, copy_out_response(0, 0), COPY_DONE),
    Step.CLOSE: closing,
    Step.SYNC: syncing,
}


def in_step(step: Step) -> Client:
    client = STEP_DRIVERS[step]()
    assert client.phase is Phase.READY
    assert steps(client)[0] is step
    return client


def test_every_step_has_a_driver() -> None:
    assert set(STEP_DRIVERS) == set(Step)
    for step in Step:
        in_step(step)


@pytest.mark.parametrize(
    ("step", "message", "target"),
    [(step, message, target) for (step, message), target in STEPS.items()],
    ids=[f"{step.name}-{message.__name__}" for step, message in STEPS],
)
def test_listed_step_transition(step: Step, message: type[b.BackendMessage], target: Step | None) -> None:
    client = in_step(step)
    before = steps(client)
    feed(client, SAMPLES[message])
    expected = before[1:] if target is None else [target, *before[1:]]
    assert steps(client) == expected
    assert client.phase is Phase.READY


def unlisted_step_pairs() -> Iterator[tuple[Step, type[b.BackendMessage]]]:
    for step in Step:
        for message in ALL_MESSAGES:
            if (step, message) not in STEPS and message not in ANYTIME and message is not b.ErrorResponse:
                yield step, message


@pytest.mark.parametrize(
    ("step", "message"),
    list(unlisted_step_pairs()),
    ids=[f"{step.name}-{message.__name__}" for step, message in unlisted_step_pairs()],
)
def test_unlisted_step_pair_is_refused(step: Step, message: type[b.BackendMessage]) -> None:
    client = in_step(step)
    client.receive_data(SAMPLES[message])
    with pytest.raises(ProtocolError) as info:
        drain(client)
    assert str(info.value) == f"unexpected {name_of(message)} while waiting in step {step.name}"
    assert client.phase is Phase.FAILED


@pytest.mark.parametrize("step", list(Step), ids=lambda s: s.name)
@pytest.mark.parametrize("message", ANYTIME_MESSAGES, ids=[m.__name__ for m in ANYTIME_MESSAGES])
def test_anytime_messages_leave_the_step_alone(step: Step, message: type[b.BackendMessage]) -> None:
    client = in_step(step)
    before = steps(client)
    assert len(feed(client, SAMPLES[message])) == 1
    assert steps(client) == before


@pytest.mark.parametrize("step", list(Step), ids=lambda s: s.name)
def test_error_response_in_every_step(step: Step) -> None:
    client = in_step(step)
    before = steps(client)
    events = feed(client, SAMPLES[b.ErrorResponse])
    assert [type(e) for e in events] == [ev.QueryFailed]
    if step in SIMPLE_STEPS:
        # Simple query: the server skips the rest of the query string and sends ReadyForQuery (§55.2.2).
        assert steps(client) == [Step.QUERY, *before[1:]]
    elif step is Step.SYNC:
        assert steps(client) == before
    elif step in SYNCED_STEPS:
        # The request's own Sync is still answered (§55.2.3).
        assert steps(client) == [Step.SYNC, *before[1:]]
    else:
        # Extended query: everything up to the next Sync is skipped (§55.2.3).
        assert steps(client) == before[before.index(Step.SYNC) :]
    assert feed(client, ready()) == [ev.ReadyForQuery("I")]


@pytest.mark.parametrize("step", list(Step), ids=lambda s: s.name)
def test_fatal_error_in_every_step(step: Step) -> None:
    client = in_step(step)
    events = feed(client, error_response("FATAL", "57P01", "bye"))
    assert [type(e) for e in events] == [ev.Terminated]
    assert client.phase is Phase.CLOSED and steps(client) == []


def test_step_sets_are_consistent() -> None:
    assert set(Step) >= COPY_IN_STEPS
    assert {step for (step, message) in STEPS if message is b.DataRow} == ROW_STEPS
    assert all(step in SIMPLE_STEPS for step in Step if step.name.startswith("QUERY"))
    # Every step can be left: some message moves it on, or answers it.
    for step in Step:
        assert any(s is step and target is not step for (s, _), target in STEPS.items()), step
