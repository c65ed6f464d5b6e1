"""The `pgproto` command line: `listen`, `notify` and `demo`, on the blocking driver.

Owns argument parsing, output formats and turning errors into one-line messages; it holds no protocol logic.
Run as `pgproto ...` (the console script) or `python -m pgproto ...`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Final, NoReturn, TextIO

from pgproto import Notice, Notification
from pgproto._shared._dispatch import NotificationSink
from pgproto.errors import (
    AuthenticationError,
    ConnectionDoesNotExistError,
    InterfaceError,
    PostgresError,
    ProtocolError,
)

from ._connection import Connection, connect

#: Exit status when something went wrong (a usage error is argparse's 2).
EXIT_FAILURE: Final = 1
#: Exit status of `notify` and `demo` when interrupted (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED: Final = 130

#: PostgreSQL identifiers, channel names included, are at most NAMEDATALEN - 1 = 63 bytes.
MAX_CHANNEL_BYTES: Final = 63

#: Reconnection delays of `listen`: the first retry is immediate, then they double up to the cap.
FIRST_RETRY_DELAY: Final = 0.5
MAX_RETRY_DELAY: Final = 15.0

#: `listen` checks with a `SELECT 1` that a silent connection is alive, so a dead network is noticed.
IDLE_CHECK_INTERVAL: Final = 30.0
IDLE_CHECK_TIMEOUT: Final = 10.0

DSN_HELP: Final = (
    "libpq URI (postgresql://user:password@host:port/dbname) or key=value string; "
    "missing parts come from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and ~/.pgpass"
)
DSN_EXAMPLE: Final = "e.g. --dsn postgresql://user:password@localhost:5432/dbname or --dsn 'host=localhost dbname=app'"

#: The errors a connection attempt or a query can raise because of what the user gave or the server said.
CONNECTION_ERRORS: Final = (OSError, PostgresError, InterfaceError, ProtocolError)


class CommandError(Exception):
    """A problem the user can fix; its message is the whole one-line explanation."""


class OutputClosed(BaseException):
    """The reader of stdout went away (e.g. `pgproto listen x | head -1`): stop quietly.

    A BaseException, because it is raised inside driver callbacks, which log and swallow an Exception.
    """


# -- output ---------------------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def _emit(record: dict[str, object], out: TextIO) -> None:
    """One JSON object per line, flushed at once so a pipe sees it immediately."""
    try:
        out.write(json.dumps(record) + "\n")
        out.flush()
    except BrokenPipeError:
        raise OutputClosed from None


def _status(message: str) -> None:
    """A human-readable status line on stderr (stdout stays machine-readable)."""
    print(f"pgproto: {message}", file=sys.stderr, flush=True)


def describe(exc: BaseException) -> str:
    """One line saying what went wrong and how to fix it, for an error of connecting or of a query."""
    if isinstance(exc, PostgresError):
        notice = exc.notice
        text = f"{notice.severity or 'ERROR'}: {notice.message} (SQLSTATE {notice.sqlstate})"
        fix = {
            "28P01": "check the password in --dsn, PGPASSWORD or ~/.pgpass",
            "28000": "check the user name in --dsn or PGUSER, and the server's pg_hba.conf",
            "3D000": "create the database, or name an existing one in --dsn or PGDATABASE",
            "57P03": "the server is starting or stopping; try again in a moment",
            "53300": "the server has no free connection slots; close other sessions or raise max_connections",
        }.get(notice.sqlstate or "")
        if fix is None and notice.hint:
            fix = notice.hint
        return f"{text}; {fix}" if fix else text
    if isinstance(exc, AuthenticationError):
        return f"{exc}; put the password in --dsn, PGPASSWORD or ~/.pgpass"
    if isinstance(exc, ConnectionDoesNotExistError):
        return f"{exc}; the server closed the connection (was it restarted or the session terminated?)"
    if isinstance(exc, InterfaceError):
        example = f" ({DSN_EXAMPLE})" if str(exc).startswith("invalid DSN") else ""
        return f"{exc}; fix --dsn or the PG* environment variables{example}"
    if isinstance(exc, OSError):  # TimeoutError included
        return f"{exc or 'timed out'}; is PostgreSQL running there? Check the host and port in --dsn or PGHOST/PGPORT"
    return f"{type(exc).__name__}: {exc}"


def _connect(dsn: str | None) -> Connection:
    try:
        return connect(dsn)
    except CONNECTION_ERRORS as exc:
        raise CommandError(f"cannot connect: {describe(exc)}") from None


def _check_channel(channel: str) -> str:
    """Reject the names PostgreSQL would refuse or silently truncate; any other name works, quoted."""
    if not channel:
        raise CommandError("a channel name cannot be empty; give a name such as 'orders'")
    if "\0" in channel:
        raise CommandError(f"channel name {channel!r} contains a NUL character, which PostgreSQL does not allow")
    size = len(channel.encode())
    if size > MAX_CHANNEL_BYTES:
        raise CommandError(
            f"channel name {channel[:20]!r}... is {size} bytes; PostgreSQL allows at most {MAX_CHANNEL_BYTES}: "
            "use a shorter name"
        )
    return channel


# -- listen ---------------------------------------------------------------------------------------------------


def _notification_record(notification: Notification) -> dict[str, object]:
    return {
        "type": "notification",
        "channel": notification.channel,
        "payload": notification.payload,
        "pid": notification.pid,
        "received_at": _now(),
    }


def _notice_record(notice: Notice) -> dict[str, object]:
    return {"type": "notice", **notice.as_dict(), "received_at": _now()}


def _start_listening(dsn: str | None, channels: Sequence[str], notices: bool, out: TextIO) -> Connection:
    """Connect and LISTEN on every channel; the notification and notice printers are registered first."""
    conn = connect(dsn)
    try:
        if notices:
            conn.add_log_listener(lambda notice: _emit(_notice_record(notice), out))
        # The public callback gets (channel, payload); a NotificationSink gets the whole Notification, whose
        # `pid` the output needs. It is what `Connection.notifications()` uses, but that LISTENs lazily, and
        # we want to say "listening" only once the server has confirmed every LISTEN.
        sink = NotificationSink(lambda notification: _emit(_notification_record(notification), out))
        for channel in channels:
            conn.add_listener(channel, sink)
    except BaseException:
        conn.terminate()
        raise
    return conn


def _wait_until_lost(conn: Connection) -> None:
    """Dispatch notifications as they arrive; return when the connection is lost."""
    last_activity = time.monotonic()
    while not conn.is_closed():
        if conn.poll(IDLE_CHECK_INTERVAL):
            last_activity = time.monotonic()
        elif not conn.is_closed() and time.monotonic() - last_activity >= IDLE_CHECK_INTERVAL:
            try:
                conn.execute("SELECT 1", timeout=IDLE_CHECK_TIMEOUT)
            except TimeoutError:
                conn.terminate()  # the server is unreachable; a new connection will tell
                return
            last_activity = time.monotonic()


def _reconnect(dsn: str | None, channels: Sequence[str], notices: bool, out: TextIO) -> Connection:
    """Connect and LISTEN again: at once, then with capped exponential backoff, until it works."""
    delay = 0.0
    while True:
        try:
            return _start_listening(dsn, channels, notices, out)
        except CONNECTION_ERRORS as exc:
            delay = min(max(delay * 2, FIRST_RETRY_DELAY), MAX_RETRY_DELAY)
            _status(f"reconnecting failed: {describe(exc)}; retrying in {delay:g} s")
            time.sleep(delay)


def run_listen(dsn: str | None, channels: Sequence[str], notices: bool, out: TextIO) -> int:
    """`pgproto listen`: print notifications (and notices) as JSON lines until interrupted; reconnect if lost."""
    channels = list(dict.fromkeys(_check_channel(channel) for channel in channels))
    conn: Connection | None = None
    # Ctrl-C may come at any moment, even while we announce that we listen: catch it around everything.
    try:
        try:
            conn = _start_listening(dsn, channels, notices, out)
        except CONNECTION_ERRORS as exc:
            raise CommandError(f"cannot listen: {describe(exc)}") from None
        _status(f"listening on {', '.join(map(repr, channels))} (Ctrl-C to stop)")
        while True:
            with contextlib.suppress(ConnectionDoesNotExistError):
                _wait_until_lost(conn)
            reason = conn.termination_reason
            why = f"{reason.severity}: {reason.message}" if reason is not None else "the connection was closed"
            _status(f"connection lost ({why}); reconnecting")
            conn = _reconnect(dsn, channels, notices, out)
            message = "reconnected; notifications sent while disconnected may have been missed"
            _emit({"type": "reconnected", "message": message, "reconnected_at": _now()}, out)
            _status(message)
    except KeyboardInterrupt:
        if conn is not None:
            conn.terminate()  # the server UNLISTENs by itself when the session ends
        return 0


# -- notify ---------------------------------------------------------------------------------------------------


def _stdin_payloads(stdin: TextIO) -> Iterator[str]:
    if stdin.isatty():
        _status("reading payloads from stdin, one per line; end with Ctrl-D")
    for line in stdin:
        yield line.removesuffix("\n").removesuffix("\r")


def run_notify(dsn: str | None, channel: str, payload: str | None, stdin: TextIO) -> int:
    """`pgproto notify`: send one notification with `payload`, or one per line of `stdin` if it is None."""
    _check_channel(channel)
    payloads = [payload] if payload is not None else _stdin_payloads(stdin)
    with _connect(dsn) as conn:
        for number, text in enumerate(payloads, 1):
            where = "" if payload is not None else f" (line {number} of stdin)"
            try:
                # pg_notify() takes the channel as a value, so any name works without quoting.
                conn.execute("SELECT pg_notify($1, $2)", channel, text)
            except PostgresError as exc:
                if exc.notice.message == "payload string too long":
                    size = len(text.encode())
                    raise CommandError(
                        f"the payload{where} is {size} bytes, over PostgreSQL's limit of 7999 bytes; "
                        "send a key (such as a row id) and let the listener look the data up"
                    ) from None
                raise CommandError(f"cannot notify{where}: {describe(exc)}") from None
            except CONNECTION_ERRORS as exc:
                raise CommandError(f"cannot notify{where}: {describe(exc)}") from None
    return 0


# -- the command line -----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `pgproto` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="pgproto",
        description="LISTEN/NOTIFY from the shell, and a tour of pgproto's listeners on a throwaway PostgreSQL.",
        epilog="Channel names are used exactly as given (case-sensitive, any characters), as pg_notify() takes them.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listen = commands.add_parser(
        "listen",
        help="print notifications as JSON lines",
        description="LISTEN on the channels and print one JSON line per notification (channel, payload, pid, "
        "received_at). Reconnects if the connection is lost. Stop with Ctrl-C.",
    )
    listen.add_argument("channels", nargs="+", metavar="CHANNEL", help="channel to listen on")
    listen.add_argument("--dsn", help=DSN_HELP)
    listen.add_argument("--notices", action="store_true", help="also print the server's notices as JSON lines")

    notify = commands.add_parser(
        "notify",
        help="send notifications",
        description="Send PAYLOAD on CHANNEL, or, without PAYLOAD, one notification per line of stdin.",
    )
    notify.add_argument("channel", metavar="CHANNEL", help="channel to notify")
    notify.add_argument("payload", nargs="?", metavar="PAYLOAD", help="the payload (default: read lines from stdin)")
    notify.add_argument("--dsn", help=DSN_HELP)

    demo = commands.add_parser(
        "demo",
        help="show every kind of listener at work",
        description="Start a throwaway PostgreSQL (or use --dsn), then show notifications, notices, query timing "
        "and a terminated connection, as each listener receives them.",
    )
    demo.add_argument("--dsn", help=f"run against this server instead of a throwaway one: {DSN_HELP}")
    return parser


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM as Ctrl-C, so `kill` stops us as cleanly (servers stopped, exit status 0 for listen)."""

    def interrupt(signum: int, frame: FrameType | None) -> NoReturn:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _silence_stdout() -> None:
    # Python flushes stdout at exit; with the reader gone that would print a BrokenPipeError (Python docs,
    # "Note on SIGPIPE").
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `pgproto` command line with `argv` (default: sys.argv[1:]); return the exit status."""
    options = build_parser().parse_args(argv)
    with _sigterm_as_interrupt():
        try:
            if options.command == "listen":
                return run_listen(options.dsn, options.channels, options.notices, sys.stdout)
            if options.command == "notify":
                return run_notify(options.dsn, options.channel, options.payload, sys.stdin)
            from ._demo import run_demo  # imports this module, so not at the top

            return run_demo(options.dsn, sys.stdout)
        except CommandError as exc:
            print(f"pgproto: error: {exc}", file=sys.stderr, flush=True)
            return EXIT_FAILURE
        except OutputClosed:
            _silence_stdout()
            return 0
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
