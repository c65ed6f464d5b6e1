"""Properties of the sending side: every frontend message pgproto builds parses back, server side, to what was
asked; a string with a NUL is refused with InterfaceError and queues nothing.

Messages are read back with fuzz/frontend_parser.py, written from the protocol docs. Each property is a
`check_*` function over one generated case, so `python -m fuzz` can run it with its own settings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from hypothesis import example, given
from hypothesis import strategies as st

from fuzz import Target, fuzz_settings
from fuzz import frontend_parser as fp
from fuzz import strategies as s
from pgproto import NEED_DATA, Client, InterfaceError, ProtocolError
from pgproto import _frontend as f
from pgproto import events as ev
from pgproto._client import _SESSION_DEFAULTS as SESSION_DEFAULTS  # what the session needs: UTF8, ISO dates

T = TypeVar("T")

# -- strings --------------------------------------------------------------------------------------------------

_NUL_TEXTS: Final = st.builds(lambda a, b: a + "\0" + b, s.texts(max_size=5), s.texts(max_size=5))


def names(nul: bool = True) -> st.SearchStrategy[str]:
    """Mostly strings PostgreSQL can receive; with `nul`, sometimes one holding a NUL (to be refused)."""
    return s.texts() | _NUL_TEXTS if nul else s.texts()


def has_nul(value: object) -> bool:
    """Whether any str inside `value` (a str, a mapping or a sequence of them) contains a NUL."""
    if isinstance(value, str):
        return "\0" in value
    if isinstance(value, Mapping):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, (tuple, list)):
        return any(has_nul(v) for v in value)
    return False


# -- property 3a: the encoders of pgproto._frontend, called directly ------------------------------------------


@dataclass(frozen=True)
class EncoderCase:
    """`pgproto._frontend.<function>(*args)` must parse back to `expected`, or raise InterfaceError if None.

    With `may_refuse`, an InterfaceError is acceptable too (a count PostgreSQL reads but a client may cap).
    """

    function: str
    args: tuple[object, ...]
    expected: object | None
    may_refuse: bool = False


#: Sizes of OID, format and value lists: mostly small, sometimes on the edges of the Int16 count fields.
_COUNTS: Final = st.integers(0, 4) | st.sampled_from([32767, 32768, 65535, 65536])
_INT16: Final = st.integers(-(2**15), 2**15 - 1)


def _many(count: int, element: st.SearchStrategy[T]) -> st.SearchStrategy[list[T]]:
    if count <= 4:
        return st.lists(element, min_size=count, max_size=count)
    return element.map(lambda v: [v] * count)  # big lists of one repeated value: cheap to draw


@st.composite
def encoder_cases(draw: st.DrawFn) -> EncoderCase:
    function = draw(
        st.sampled_from(
            [
                "startup_message", "ssl_request", "cancel_request", "password_message", "sasl_initial_response",
                "sasl_response", "query", "parse", "bind", "describe_statement", "describe_portal", "execute",
                "sync", "flush", "close_statement", "close_portal", "copy_data", "copy_done", "copy_fail",
                "terminate",
            ]
        )
    )  # fmt: skip
    if function == "startup_message":
        params = draw(st.dictionaries(names() | st.just(""), names(), max_size=4))
        bad = has_nul(params) or "" in params  # an empty name would end the parameter list early
        return EncoderCase(function, (params,), None if bad else fp.Startup(3 << 16, tuple(params.items())))
    if function in ("ssl_request", "sync", "flush", "copy_done", "terminate"):
        empty = {"ssl_request": fp.SSLRequest(), "sync": fp.Sync(), "flush": fp.Flush(), "copy_done": fp.CopyDone()}
        return EncoderCase(function, (), empty.get(function, fp.Terminate()))
    if function == "cancel_request":
        pid, key = draw(st.integers(-(2**31), 2**31 - 1)), draw(st.binary(min_size=4, max_size=256))
        return EncoderCase(function, (pid, key), fp.CancelRequest(pid, key))
    if function == "password_message":
        password = draw(st.binary(max_size=30))
        return EncoderCase(function, (password,), None if b"\0" in password else password)
    if function == "sasl_initial_response":
        mechanism, data = draw(names()), draw(st.binary(max_size=40))
        return EncoderCase(function, (mechanism, data), None if has_nul(mechanism) else (mechanism, data))
    if function == "sasl_response":
        data = draw(st.binary(max_size=40))
        return EncoderCase(function, (data,), fp.PasswordPacket(data))
    if function in ("query", "copy_fail"):
        text = draw(names())
        message = fp.Query(text) if function == "query" else fp.CopyFail(text)
        return EncoderCase(function, (text,), None if has_nul(text) else message)
    if function == "copy_data":
        data = draw(st.binary(max_size=40))
        return EncoderCase(function, (data,), fp.CopyData(data))
    if function in ("describe_statement", "describe_portal", "close_statement", "close_portal"):
        name = draw(names())
        kind = "S" if function.endswith("statement") else "P"
        described = fp.Describe(kind, name) if function.startswith("describe") else fp.Close(kind, name)
        return EncoderCase(function, (name,), None if has_nul(name) else described)
    if function == "execute":
        portal = draw(names())
        max_rows = draw(st.integers(-(2**31), 2**31 - 1) | st.sampled_from([-(2**31) - 1, 2**31]))
        bad = has_nul(portal) or not -(2**31) <= max_rows < 2**31
        return EncoderCase(function, (portal, max_rows), None if bad else fp.Execute(portal, max_rows))
    if function == "parse":
        statement, text = draw(names()), draw(names())
        count = draw(_COUNTS)
        oid = st.integers(0, 2**32 - 1) | st.sampled_from([-1, 2**32])
        oids = tuple(draw(_many(count, oid)))
        bad = has_nul([statement, text]) or count > 65535 or any(not 0 <= o < 2**32 for o in oids)
        parsed = fp.Parse(statement, text, oids)
        return EncoderCase(function, (statement, text, oids), None if bad else parsed, may_refuse=count > 32767)
    assert function == "bind"
    portal, statement = draw(names()), draw(names())
    counts = [draw(_COUNTS) for _ in range(3)]
    parameter_formats = tuple(draw(_many(counts[0], st.sampled_from([0, 1]) | _INT16)))
    values = tuple(draw(_many(counts[1], st.none() | st.binary(max_size=20))))
    result_formats = tuple(draw(_many(counts[2], st.sampled_from([0, 1]) | _INT16)))
    bad = has_nul([portal, statement]) or max(counts) > 65535
    bind = fp.Bind(portal, statement, parameter_formats, values, result_formats)
    args = (portal, statement, parameter_formats, values, result_formats)
    return EncoderCase(function, args, None if bad else bind, may_refuse=max(counts) > 32767)


def check_encoder(case: EncoderCase) -> None:
    encode = getattr(f, case.function)
    if case.expected is None:
        try:
            encode(*case.args)
        except InterfaceError:
            return
        raise AssertionError(f"{case.function} accepted arguments it cannot send: {case.args!r:.300}")
    try:
        data = encode(*case.args)
    except InterfaceError:
        if case.may_refuse:
            return
        raise
    assert isinstance(data, bytes)
    if case.function in ("startup_message", "ssl_request", "cancel_request"):
        message, rest = fp.parse_startup_packet(data)
        assert rest == b""
        assert message == case.expected, (message, case.expected)
        return
    (parsed,) = fp.parse_messages(data)
    if case.function == "password_message":
        assert isinstance(parsed, fp.PasswordPacket)
        assert fp.password_message(parsed) == case.expected
    elif case.function == "sasl_initial_response":
        assert isinstance(parsed, fp.PasswordPacket)
        assert fp.sasl_initial_response(parsed) == case.expected
    else:
        assert parsed == case.expected, (parsed, case.expected)


# -- property 3b: requests made through the Client ------------------------------------------------------------


def _clock() -> float:
    return 0.0


def _drain(client: Client) -> list[object]:
    events: list[object] = []
    while (event := client.next_event()) is not NEED_DATA:
        events.append(event)
    return events


def ready_client(statements: Sequence[s.Statement] = ()) -> Client:
    """A Client past a trusted startup, with `statements` prepared and described."""
    client = Client(user="fuzz", clock=_clock)
    client.receive_data(s.authentication(0) + s.backend_key_data(7, b"key!") + s.ready_for_query("I"))
    _drain(client)
    for st_ in statements:
        client.prepare(st_.name, st_.text, st_.parameter_oids)
        # The server describes a statement's result in format 0: no Bind has chosen formats yet.
        described = [dataclasses.replace(c, format=0) for c in st_.columns]
        client.receive_data(
            s.PARSE_COMPLETE
            + s.parameter_description(st_.parameter_oids)
            + (s.row_description(described) if described else s.NO_DATA)
            + s.ready_for_query("I")
        )
        _drain(client)
    client.data_to_send()
    return client


@dataclass(frozen=True)
class Request:
    """One Client request call and the frontend messages it must queue (None: it must raise InterfaceError)."""

    call: s.Call
    expected: tuple[object, ...] | None
    may_refuse: bool = False  # an InterfaceError is acceptable too (see EncoderCase)


#: Values for parameters of each type that its encoder must refuse (wrong type, or out of range).
_BAD_ARGS: Final = {
    s.INT4: st.sampled_from(["1", 1.5, True, 2**31, -(2**31) - 1]),
    s.INT8: st.sampled_from(["1", 2**63, True]),
    s.BOOL: st.sampled_from(["t", 1, 1.0]),
    s.FLOAT8: st.sampled_from(["1.5", True, 10**400]),
    s.TEXT: st.sampled_from([1, b"bytes", 1.5]),
}
#: Parameter types of prepared statements: ours, and 0, which the client sends as text.
_PARAMETER_OIDS: Final = st.sampled_from([*sorted(s.TYPE_SIZES), 0])
#: Arguments of a one-shot extended query, and the OID the client should declare for each.
_EXTENDED_ARGS: Final = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | s.texts() | st.floats()
_INFERRED: Final = {type(None): 0, bool: s.BOOL, int: s.INT8, float: s.FLOAT8, str: 0}


@st.composite
def statements(draw: st.DrawFn) -> list[s.Statement]:
    result = []
    for name in draw(st.lists(names(nul=False), unique=True, max_size=2)):
        oids = tuple(draw(st.lists(_PARAMETER_OIDS, max_size=3)))
        result.append(s.Statement(name, draw(s.texts()), oids, s.described(draw(s.columns()))))
    return result


@st.composite
def requests(draw: st.DrawFn, prepared: Sequence[s.Statement]) -> Request:
    kinds = ["query", "prepare", "extended", "close", "sync", "flush"] + ["execute"] * 3 * bool(prepared)
    kind = draw(st.sampled_from(kinds))
    sync = draw(st.booleans())
    tail: tuple[object, ...] = (fp.Sync(),) if sync else ()
    if kind == "query":
        text = draw(names())
        return Request(s.Call("query", (text,)), None if has_nul(text) else (fp.Query(text),))
    if kind == "sync":
        return Request(s.Call("sync"), (fp.Sync(),))
    if kind == "flush":
        return Request(s.Call("flush"), (fp.Flush(),))
    if kind == "close":
        name = draw(names())
        expected = None if has_nul(name) else (fp.Close("S", name), *tail)
        return Request(s.Call("close_statement", (name,), (("sync", sync),)), expected)
    if kind == "prepare":
        name, text = draw(names()), draw(names())
        oids = tuple(draw(st.lists(st.integers(0, 2**32 - 1) | st.sampled_from([-1, 2**32]), max_size=3)))
        bad = has_nul([name, text]) or any(not 0 <= o < 2**32 for o in oids)
        expected = None if bad else (fp.Parse(name, text, oids), fp.Describe("S", name), *tail)
        return Request(s.Call("prepare", (name, text, oids), (("sync", sync),)), expected)
    if kind == "extended":
        text = draw(names())
        args = tuple(draw(st.lists(_EXTENDED_ARGS, max_size=3)))
        call = s.Call("extended_query", (text, args), (("sync", sync),))
        if has_nul(text):
            return Request(call, None)
        values = tuple(None if a is None else _text_form(a) for a in args)
        oids = tuple(_INFERRED[type(a)] for a in args)
        expected = (
            fp.Parse("", text, oids),
            fp.Bind("", "", (0,), values, (0,)),
            fp.Describe("P", ""),
            fp.Execute("", 0),
            *tail,
        )
        return Request(call, expected)
    statement = draw(st.sampled_from(prepared))
    max_rows = draw(st.sampled_from([0, 1, 100, 2**31 - 1, 2**31]))
    arguments: list[object] = [draw(st.none() | _argument(oid)) for oid in statement.parameter_oids]
    if draw(st.integers(0, 9)) == 0 and arguments:  # now and then one argument the encoder must refuse
        i = draw(st.integers(0, len(arguments) - 1))
        if statement.parameter_oids[i]:
            arguments[i] = draw(_BAD_ARGS[statement.parameter_oids[i]])
            call = s.Call("execute_prepared", (statement.name, tuple(arguments)), (("max_rows", max_rows),))
            return Request(call, None)  # an ArgumentError, which is an InterfaceError
    if draw(st.integers(0, 19)) == 0:  # or the wrong number of arguments
        arguments.append(None)
        call = s.Call("execute_prepared", (statement.name, tuple(arguments)), (("sync", sync),))
        return Request(call, None)
    call = s.Call("execute_prepared", (statement.name, tuple(arguments)), (("max_rows", max_rows), ("sync", sync)))
    if max_rows >= 2**31:  # Execute's row limit is an Int32
        return Request(call, None)
    return Request(call, ("bind", statement, tuple(arguments), fp.Execute("", max_rows), *tail))


def _argument(oid: int) -> st.SearchStrategy[object]:
    return s.texts() if oid == 0 else s.python_values(oid)


def _text_form(value: object) -> bytes:
    """How a value reads in PostgreSQL's text input (what a one-shot extended query sends)."""
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, float):
        return s.float_text(value)
    return str(value).encode()


def _check_bind(bind: object, statement: s.Statement, args: tuple[object, ...]) -> None:
    """A Bind of `statement` whose values decode (independently of pgproto) back to `args`."""
    assert isinstance(bind, fp.Bind), bind
    assert (bind.portal, bind.statement) == ("", statement.name)
    assert bind.result_formats == tuple(c.format for c in statement.columns)
    formats = bind.parameter_formats
    assert len(formats) in (0, 1, len(args)) and set(formats) <= {0, 1}, formats
    assert len(bind.values) == len(args)
    for i, (oid, value, arg) in enumerate(zip(statement.parameter_oids, bind.values, args)):
        fmt = formats[i] if len(formats) > 1 else (formats[0] if formats else 0)
        decoded = None if value is None else s.decode_value(oid, fmt, value)
        assert s.canonical(decoded) == s.canonical(arg), (i, oid, fmt, value, arg)


def _same_text_forms(actual: Sequence[bytes | None], expected: Sequence[bytes | None]) -> bool:
    """Text-format values equal, reading floats as numbers (1e+16 and 1e16 are the same float8 input)."""
    if len(actual) != len(expected):
        return False
    for a, e in zip(actual, expected):
        if a is None or e is None:
            if a is not e:
                return False
        elif a != e:
            try:
                fa, fe = float(a), float(e)
            except ValueError:
                return False
            if s.canonical(fa) != s.canonical(fe) and not (math.isnan(fa) and math.isnan(fe)):
                return False
    return True


def check_requests(prepared: Sequence[s.Statement], requests_: Sequence[Request]) -> None:
    """Each request queues exactly its messages; a refused one queues nothing and leaves the client as it was."""
    client = ready_client(prepared)
    for request in requests_:
        idle = client.is_idle
        if request.expected is None:
            try:
                request.call.apply(client)
            except InterfaceError:
                pass
            else:
                raise AssertionError(f"{request.call} was accepted; expected an InterfaceError")
            assert client.data_to_send() == b""
            assert client.is_idle == idle
            continue
        try:
            request.call.apply(client)
        except InterfaceError:
            if not request.may_refuse:
                raise
            assert client.data_to_send() == b""
            continue
        messages = fp.parse_messages(client.data_to_send())
        expected = list(request.expected)
        if expected and expected[0] == "bind":
            _, statement, args, *expected = expected
            assert messages, "no Bind"
            _check_bind(messages.pop(0), statement, args)  # type: ignore[arg-type]
        assert len(messages) == len(expected), (messages, expected)
        for message, want in zip(messages, expected):
            if isinstance(want, fp.Bind) and isinstance(message, fp.Bind):
                assert _same_text_forms(message.values, want.values), (message, want)
                message = fp.Bind(
                    message.portal, message.statement, message.parameter_formats, want.values, message.result_formats
                )
            assert message == want, (message, want)


@st.composite
def request_cases(draw: st.DrawFn) -> tuple[list[s.Statement], list[Request]]:
    prepared = draw(statements())
    return prepared, draw(st.lists(requests(prepared), min_size=1, max_size=6))


# -- property 3c: COPY FROM STDIN through the Client -----------------------------------------------------------


@dataclass(frozen=True)
class CopyCase:
    text: str
    chunks: tuple[bytes, ...]
    fail: str | None  # CopyFail's reason, or None for CopyDone


def check_copy(case: CopyCase) -> None:
    client = ready_client()
    client.query(case.text)
    assert fp.parse_messages(client.data_to_send()) == [fp.Query(case.text)]
    try:
        client.copy_data(b"too early")
    except InterfaceError:
        pass
    else:
        raise AssertionError("copy_data was accepted before CopyInResponse")
    client.receive_data(s.copy_response(b"G", 0, (0, 0)))
    assert _drain(client) == [ev.CopyInResponse(0, (0, 0))]
    for chunk in case.chunks:
        client.copy_data(chunk)
    expected: list[object] = [fp.CopyData(c) for c in case.chunks]
    if case.fail is not None and has_nul(case.fail):
        try:
            client.copy_fail(case.fail)
        except InterfaceError:
            pass
        else:
            raise AssertionError(f"copy_fail({case.fail!r}) was accepted")
    elif case.fail is not None:
        client.copy_fail(case.fail)
        expected.append(fp.CopyFail(case.fail))
    else:
        client.copy_done()
        expected.append(fp.CopyDone())
    assert fp.parse_messages(client.data_to_send()) == expected


copy_cases: Final = st.builds(
    CopyCase, names(nul=False), st.lists(st.binary(max_size=50), max_size=4).map(tuple), st.none() | names()
)


# -- property 3d: the StartupMessage and authentication, through the Client -----------------------------------


@dataclass(frozen=True)
class StartupCase:
    user: str
    database: str | None
    password: str | None
    params: dict[str, str]
    method: str  # trust, cleartext, md5 or scram
    salt: bytes = b"salt"
    iterations: int = 4096


#: Names the Client sets itself (its codecs rely on them); a params entry for one of them is a different
#: question, left out here.
_RESERVED: Final = {"user", "database", *SESSION_DEFAULTS}


@st.composite
def startup_cases(draw: st.DrawFn) -> StartupCase:
    params = draw(st.dictionaries(names().filter(lambda k: k not in _RESERVED) | st.just(""), names(), max_size=3))
    return StartupCase(
        user=draw(names()),
        database=draw(st.none() | names()),
        password=draw(st.none() | names()),
        params=params,
        method=draw(st.sampled_from(["trust", "cleartext", "md5", "scram"])),
        salt=draw(st.binary(min_size=1, max_size=16)),
        iterations=draw(st.integers(1, 4096)),
    )


def check_startup(case: StartupCase) -> None:
    refused = has_nul([case.user, case.database or "", case.params]) or "" in case.params
    try:
        client = Client(
            user=case.user, database=case.database, password=case.password, params=case.params, clock=_clock
        )
    except InterfaceError:
        # A password with a NUL may be refused here, or later if the server asks for it in cleartext.
        assert refused or has_nul(case.password), "Client() refused valid arguments"
        return
    assert not refused, "Client() accepted a StartupMessage it cannot send"
    startup, rest = fp.parse_startup_packet(client.data_to_send())
    assert rest == b""
    assert isinstance(startup, fp.Startup) and startup.version == 3 << 16
    sent = dict(startup.params)
    assert len(sent) == len(startup.params), "a parameter is sent twice"
    expected = {"user": case.user, **SESSION_DEFAULTS, **case.params}
    if case.database is not None:
        expected["database"] = case.database
    assert sent == expected, (sent, expected)
    _authenticate(client, case)


def _authenticate(client: Client, case: StartupCase) -> None:
    """Answer the method's requests like a server and check what the client sends back."""
    password = case.password
    if case.method == "trust":
        pass
    elif password is None:
        client.receive_data(
            s.authentication(3 if case.method == "cleartext" else 5, b"salt"[: 4 * (case.method == "md5")])
        )
        try:
            client.next_event()
        except ProtocolError:  # AuthenticationError: it has no password to give
            assert client.data_to_send() == b""
            return
        raise AssertionError("the client answered a password request without a password")
    elif case.method in ("cleartext", "md5"):
        salt = case.salt[:4].ljust(4, b"\0")
        client.receive_data(s.authentication(3, b"") if case.method == "cleartext" else s.authentication(5, salt))
        try:
            assert client.next_event() is NEED_DATA
        except ProtocolError:
            # Refusing is right only for a cleartext password PostgreSQL cannot receive (it holds a NUL).
            assert case.method == "cleartext" and has_nul(password), "password request refused"
            assert client.data_to_send() == b""
            return
        (packet,) = fp.parse_messages(client.data_to_send())
        assert isinstance(packet, fp.PasswordPacket)
        if case.method == "cleartext":
            assert fp.password_message(packet) == password.encode(), (packet, password)
        else:
            inner = hashlib.md5(password.encode() + case.user.encode()).hexdigest().encode()
            assert fp.password_message(packet) == b"md5" + hashlib.md5(inner + salt).hexdigest().encode()
    else:
        server = fp.ScramServer(password, case.salt, case.iterations, nonce="3rfcNHYJY1ZVvWVs7j")
        client.receive_data(s.authentication(10, s.cstring("SCRAM-SHA-256-PLUS") + s.cstring("SCRAM-SHA-256") + b"\0"))
        assert client.next_event() is NEED_DATA
        (packet,) = fp.parse_messages(client.data_to_send())
        assert isinstance(packet, fp.PasswordPacket)
        mechanism, client_first = fp.sasl_initial_response(packet)
        assert mechanism == "SCRAM-SHA-256" and client_first is not None
        client.receive_data(s.authentication(11, server.server_first(client_first)))
        assert client.next_event() is NEED_DATA
        (packet,) = fp.parse_messages(client.data_to_send())
        assert isinstance(packet, fp.PasswordPacket)
        client.receive_data(s.authentication(12, server.server_final(packet.body)))
        assert client.next_event() is NEED_DATA
    client.receive_data(s.authentication(0) + s.backend_key_data(42, b"\1\2\3\4") + s.ready_for_query("I"))
    assert _drain(client) == [ev.Authenticated(), ev.BackendKeyData(42, b"\1\2\3\4"), ev.ReadyForQuery("I")]
    assert client.is_idle and client.data_to_send() == b""


# -- property 3e: strings that UTF-8 cannot encode ------------------------------------------------------------


@dataclass(frozen=True)
class UnencodableCase:
    """A request whose string argument holds a lone surrogate: it must be refused like a NUL, queuing nothing."""

    call: s.Call


_SURROGATES: Final = st.builds(
    lambda a, c, b: a + c + b, s.texts(max_size=3), st.characters(categories=["Cs"]), s.texts(max_size=3)
)


@st.composite
def unencodable_cases(draw: st.DrawFn) -> UnencodableCase:
    bad = draw(_SURROGATES)
    calls = [
        s.Call("query", (bad,)),
        s.Call("prepare", (bad, "SELECT 1")),
        s.Call("prepare", ("s", bad)),
        s.Call("extended_query", (bad, ())),
        s.Call("extended_query", ("SELECT $1", (bad,))),
        s.Call("close_statement", (bad,)),
        s.Call("Client", (), (("user", bad),)),
        s.Call("Client", (), (("user", "u"), ("database", bad))),
        s.Call("Client", (), (("user", "u"), ("params", {"application_name": bad}))),
        s.Call("Client", (), (("user", "u"), ("params", {bad: "x"}))),
    ]
    return UnencodableCase(draw(st.sampled_from(calls)))


def check_unencodable(case: UnencodableCase) -> None:
    client = ready_client()
    try:
        if case.call.method == "Client":
            Client(*case.call.args, **dict(case.call.kwargs))  # type: ignore[arg-type]
        else:
            case.call.apply(client)
    except InterfaceError:
        assert client.data_to_send() == b"" and client.is_idle
        return
    raise AssertionError(f"{case.call} was accepted")


# -- the pytest entry points ----------------------------------------------------------------------------------


def _many_arguments_request(count: int) -> Request:
    """A one-shot extended query with `count` int arguments (PostgreSQL takes up to 65535 parameters)."""
    call = s.Call("extended_query", ("SELECT", (1,) * count), (("sync", False),))
    bind = fp.Bind("", "", (0,), (b"1",) * count, (0,))
    parse = fp.Parse("", "SELECT", (s.INT8,) * count)
    return Request(call, (parse, bind, fp.Describe("P", ""), fp.Execute("", 0)), may_refuse=True)


def _check_requests(case: tuple[list[s.Statement], list[Request]]) -> None:
    check_requests(*case)


ENCODERS: Final = Target("encoders", encoder_cases(), check_encoder)
REQUESTS: Final = Target("requests", request_cases(), _check_requests)
COPY: Final = Target("copy", copy_cases, check_copy)
AUTHENTICATION: Final = Target("authentication", startup_cases(), check_startup)
UNENCODABLE: Final = Target("unencodable", unencodable_cases(), check_unencodable)
#: The properties of this module, for `python -m fuzz`.
TARGETS: Final = (ENCODERS, REQUESTS, COPY, AUTHENTICATION, UNENCODABLE)


@fuzz_settings()
@given(ENCODERS.strategy)
# Each of these once escaped as struct.error or was sent malformed (reported); now refused, or sent whole.
@example(EncoderCase("startup_message", ({"user": "u", "": "x"},), None))  # "" ended the parameter list
@example(EncoderCase("password_message", (b"a\0b",), None))  # the server would read "a" + trailing bytes
@example(EncoderCase("execute", ("", 2**31), None))
@example(EncoderCase("parse", ("", "SELECT $1", (2**32,)), None))
@example(EncoderCase("parse", ("", "SELECT $1", (-1,)), None))
@example(EncoderCase("parse", ("", "q", (23,) * 40000), fp.Parse("", "q", (23,) * 40000), may_refuse=True))
@example(EncoderCase("bind", ("", "", (), (None,) * 40000, ()), fp.Bind("", "", (), (None,) * 40000, ()), True))
def test_frontend_encoders_round_trip(case: EncoderCase) -> None:
    ENCODERS.check(case)


@fuzz_settings()
@given(REQUESTS.strategy)
# These escaped as struct.error (reported); an InterfaceError is expected, or for 40000 arguments a whole Bind.
@example(([], [Request(s.Call("prepare", ("s", "SELECT $1", (-1,))), None)]))
@example(
    ([s.Statement("s", "q", (), ())], [Request(s.Call("execute_prepared", ("s", ()), (("max_rows", 2**31),)), None)])
)
@example(([], [_many_arguments_request(40000)]))
def test_client_requests_round_trip(case: tuple[list[s.Statement], list[Request]]) -> None:
    REQUESTS.check(case)


@fuzz_settings()
@given(COPY.strategy)
def test_client_copy_in_round_trips(case: CopyCase) -> None:
    COPY.check(case)


@fuzz_settings()
@given(AUTHENTICATION.strategy)
# A cleartext password holding a NUL was sent cut short, later raised InterfaceError from next_event (reported).
@example(StartupCase("u", None, "a\0b", {}, "cleartext"))
# An empty parameter name ended the StartupMessage's parameter list early (reported).
@example(StartupCase("u", None, None, {"": "x"}, "trust"))
def test_client_startup_and_authentication_round_trip(case: StartupCase) -> None:
    AUTHENTICATION.check(case)


@fuzz_settings()
@given(UNENCODABLE.strategy)
def test_unencodable_strings_are_refused(case: UnencodableCase) -> None:
    UNENCODABLE.check(case)
