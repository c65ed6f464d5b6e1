"""Connection parameters the way libpq finds them: a URI or key=value DSN, PG* variables, .pgpass, defaults.

Pure functions: the environment, the OS user name and the .pgpass text come in as arguments; nothing here reads
files, the process environment or the network.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os.path
import re
import ssl as _ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote_to_bytes

from .errors import InterfaceError

DEFAULT_PORT: Final = 5432
#: The `timeout` of connect(); a connect_timeout from the DSN or PGCONNECT_TIMEOUT replaces it (see `resolve`).
DEFAULT_TIMEOUT: Final = 60.0
SSLMODES: Final = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
TARGET_SESSION_ATTRS: Final = ("any", "read-write", "read-only", "primary", "standby", "prefer-standby")

#: Every keyword libpq accepts (libpq docs, "Parameter Key Words", PostgreSQL 18). Those `resolve` has no use for
#: are accepted and ignored, unless they demand something pgproto cannot do (`_UNSUPPORTED`).
KEYWORDS: Final = frozenset(
    {
        "application_name", "channel_binding", "client_encoding", "connect_timeout", "dbname",
        "fallback_application_name", "gssdelegation", "gssencmode", "gsslib", "host", "hostaddr", "keepalives",
        "keepalives_count", "keepalives_idle", "keepalives_interval", "krbsrvname", "load_balance_hosts",
        "max_protocol_version", "min_protocol_version", "oauth_client_id", "oauth_client_secret", "oauth_issuer",
        "oauth_scope", "options", "passfile", "password", "port", "replication", "require_auth", "requirepeer",
        "scram_client_key", "scram_server_key", "service", "ssl_max_protocol_version", "ssl_min_protocol_version",
        "sslcert", "sslcertmode", "sslcompression", "sslcrl", "sslcrldir", "sslkey", "sslkeylogfile",
        "sslmode", "sslnegotiation", "sslpassword", "sslrootcert", "sslsni", "target_session_attrs",
        "tcp_user_timeout", "user",
    }
)  # fmt: skip

#: The environment variable behind each keyword (libpq docs, "Environment Variables"). PGCLIENTENCODING is left
#: out on purpose: the core always runs the session in UTF8.
_ENVIRON: Final[Mapping[str, str]] = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "service": "PGSERVICE",
    "require_auth": "PGREQUIREAUTH",
    "requirepeer": "PGREQUIREPEER",
    "channel_binding": "PGCHANNELBINDING",
    "gssencmode": "PGGSSENCMODE",
    "sslcertmode": "PGSSLCERTMODE",
}

#: Session settings libpq takes from the environment and sends in the StartupMessage. PGDATESTYLE is left out:
#: the core pins DateStyle to ISO, the only style its date codecs read.
_ENVIRON_SETTINGS: Final[Mapping[str, str]] = {"PGTZ": "timezone", "PGGEQO": "geqo"}

#: Keywords whose value asks for a guarantee pgproto cannot give; ignoring them would silently weaken security.
#: None means any non-empty value.
_UNSUPPORTED: Final[Mapping[str, frozenset[str] | None]] = {
    "service": None,
    "require_auth": None,
    "requirepeer": None,
    "channel_binding": frozenset({"require"}),
    "gssencmode": frozenset({"require"}),
    "sslcertmode": frozenset({"require"}),
}

#: Names people often write for a libpq keyword, for the hint in "unknown parameter".
_ALIASES: Final[Mapping[str, str]] = {
    "database": "dbname",
    "db": "dbname",
    "username": "user",
    "hostname": "host",
    "pass": "password",
    "ssl": "sslmode",
    "timeout": "connect_timeout",
}

_SECRETS: Final = frozenset({"password", "sslpassword", "oauth_client_secret"})
_WHITESPACE: Final = " \t\n\r\f\v"  # isspace() in libpq's C locale
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_BAD_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_INTEGER: Final = re.compile(r"\s*[+-]?[0-9]+\s*")


@dataclass(frozen=True, slots=True)
class Address:
    """One place to try, in the order given: a TCP host and port, or a Unix-socket directory and port."""

    #: A host name or IP address, or a Unix-socket directory (starts with '/', or '@' for Linux's abstract
    #: namespace). Also the name that .pgpass and TLS certificate checks use.
    host: str
    port: int
    #: libpq's hostaddr: a numeric IP to connect to instead of resolving `host`, which still names the server.
    hostaddr: str | None = None

    @property
    def is_unix(self) -> bool:
        """Whether this is a Unix-domain socket (libpq: a host starting with '/' or '@', and no hostaddr)."""
        return self.hostaddr is None and self.host.startswith(("/", "@"))

    def unix_socket_path(self) -> str:
        """The socket file, `<dir>/.s.PGSQL.<port>`; a leading '@' stands for the abstract namespace's NUL byte.

        Raises:
            InterfaceError: the address is not a Unix socket.
        """
        if not self.is_unix:
            raise InterfaceError(f"address {self.host!r} is not a Unix-socket directory")
        return f"{self.host.rstrip('/')}/.s.PGSQL.{self.port}"


@dataclass(frozen=True, slots=True)
class ConnectParams:
    """Everything a driver needs to open a connection, resolved from arguments, DSN, environment and defaults."""

    addresses: tuple[Address, ...]
    user: str
    #: The password given (argument, DSN or PGPASSWORD), else the .pgpass one for the first address.
    password: str | None = field(repr=False)
    database: str
    sslmode: str
    sslrootcert: str | None
    sslcert: str | None
    sslkey: str | None
    #: Seconds to wait for each connection attempt, or None for no limit.
    connect_timeout: float | None
    #: Startup parameters besides user and database: application_name, options (raw), and the like.
    server_settings: dict[str, str]
    target_session_attrs: str = "any"
    #: The ssl.SSLContext passed as `ssl`, to use as is, or None.
    ssl_context: _ssl.SSLContext | None = None
    #: The password for each address, in the same order: the given one, else that address's .pgpass match.
    passwords: tuple[str | None, ...] = field(default=(), repr=False)

    def password_for(self, address: Address) -> str | None:
        """The password to send when connecting to `address` (one of `addresses`)."""
        for candidate, password in zip(self.addresses, self.passwords):
            if candidate == address:
                return password
        return self.password


# --- parsing ----------------------------------------------------------------------------------------------------


def parse_dsn(dsn: str) -> dict[str, str]:
    """Parse a libpq connection URI or key=value string into libpq keywords and their (decoded) values.

    Values stay as libpq would hold them: "h1,h2" for several hosts, "5432,5433" for their ports. `ssl=true` in a
    URI and `requiressl` become `sslmode`, as in libpq.

    Raises:
        InterfaceError: the string is malformed or names a keyword libpq does not know; the message says where.
    """
    text = dsn.strip(_WHITESPACE)
    if "\0" in text:
        raise _invalid("contains a NUL character")
    scheme = _SCHEME.match(text)
    if scheme is not None:
        return _parse_uri(text, scheme)
    return _parse_keywords(text)


def _parse_uri(text: str, scheme: re.Match[str]) -> dict[str, str]:
    """postgresql://[user[:password]@][host][:port][,...][/dbname][?keyword=value&...] (libpq "Connection URIs")."""
    name = scheme.group(1)
    if name.lower() not in ("postgresql", "postgres"):
        raise _invalid(f"unsupported scheme {name!r}: expected 'postgresql://' or 'postgres://'")
    rest = text[scheme.end() :]
    if not rest.startswith("//"):
        raise _invalid(f"expected '//' after '{name}:'")
    rest = rest[2:]
    end = min((i for i in (rest.find("/"), rest.find("?")) if i != -1), default=len(rest))
    authority, rest = rest[:end], rest[end:]
    path, _, query = rest.partition("?")

    params: dict[str, str] = {}
    userinfo, at, netlocs = authority.rpartition("@")
    if at:
        user, _, password = userinfo.partition(":")
        if user:
            params["user"] = _decode(user, "user name")
        if password:
            params["password"] = _decode(password, "password", secret=True)
    hosts: list[str] = []
    ports: list[str] = []
    for netloc in netlocs.split(","):
        host, port = _split_netloc(netloc)
        hosts.append(_decode(host, "host"))
        ports.append(_decode(port, "port"))
    # An empty entry in a list means "the default"; a list of nothing but those leaves the keyword to PG*.
    if any(hosts):
        params["host"] = ",".join(hosts)
    if any(ports):
        params["port"] = ",".join(ports)
    if path[1:]:
        params["dbname"] = _decode(path[1:], "database name")

    for item in query.split("&"):
        if not item:
            continue
        raw_key, equals, raw_value = item.partition("=")
        key = _decode(raw_key, "query parameter name")
        if not equals:
            raise _invalid(f"query parameter {key!r} has no '=' and value")
        if "=" in raw_value:
            raise _invalid(f"query parameter {key!r} has a second '=': percent-encode it as %3D")
        value = _decode(raw_value, f"value of {key!r}", secret=key in _SECRETS)
        if key == "ssl" and value == "true":  # libpq accepts JDBC's ssl=true
            key, value = "sslmode", "require"
        _store(params, key, value, "query parameter")
    return params


def _split_netloc(netloc: str) -> tuple[str, str]:
    """One `host[:port]` of a URI, the host possibly an IPv6 address in brackets; both still percent-encoded."""
    if netloc.startswith("["):
        close = netloc.find("]")
        if close == -1:
            raise _invalid(f"missing ']' after the IPv6 address in {netloc!r}")
        if close == 1:
            raise _invalid("empty IPv6 address '[]'")
        after = netloc[close + 1 :]
        if after and not after.startswith(":"):
            raise _invalid(f"unexpected {after[0]!r} after the IPv6 address in {netloc!r}: expected ':' and a port")
        return netloc[1:close], after[1:]
    host, _, port = netloc.partition(":")
    if ":" in port:
        raise _invalid(f"unexpected ':' in the port of {netloc!r}: write an IPv6 address in brackets, e.g. [::1]")
    return host, port


def _decode(raw: str, what: str, *, secret: bool = False) -> str:
    """Percent-decode one URI part, as UTF-8. Like libpq, spaces around it are dropped and spaces within refused."""
    shown = "" if secret else f" {raw!r}"
    text = raw.strip(" ")
    if " " in text:
        raise _invalid(f"unexpected space in the {what}{shown}: percent-encode it as %20")
    if _BAD_PERCENT.search(text):
        raise _invalid(f"invalid percent-encoding in the {what}{shown}: '%' must be followed by two hex digits")
    data = unquote_to_bytes(text)
    if b"\0" in data:
        raise _invalid(f"%00 is not allowed in the {what}{shown}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid(f"the {what}{shown} is not UTF-8 once percent-decoded") from None


def _parse_keywords(text: str) -> dict[str, str]:
    """`keyword = value ...`, a value bare or in single quotes, with backslash escapes (libpq "Keyword/Value")."""
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if i == n:
            return params
        start = i
        while i < n and text[i] != "=" and text[i] not in _WHITESPACE:
            i += 1
        key = text[start:i]
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if not key:
            raise _invalid(f"expected a parameter name before '=' at position {start}")
        if i == n or text[i] != "=":
            hint = ": expected a postgresql:// URI or keyword=value pairs" if not params else ""
            raise _invalid(f"missing '=' after {key!r}{hint}")
        i += 1
        while i < n and text[i] in _WHITESPACE:
            i += 1
        chars: list[str] = []
        if i < n and text[i] == "'":
            i += 1
            while True:
                if i >= n:
                    raise _invalid(f"unterminated quoted value for {key!r}: missing the closing quote")
                if text[i] == "\\":
                    chars.append(text[i + 1 : i + 2])
                    i += 2
                elif text[i] == "'":
                    i += 1
                    break
                else:
                    chars.append(text[i])
                    i += 1
        else:
            while i < n and text[i] not in _WHITESPACE:
                if text[i] == "\\":
                    i += 1
                if i < n:
                    chars.append(text[i])
                    i += 1
        _store(params, key, "".join(chars), "parameter")


def _store(params: dict[str, str], key: str, value: str, kind: str) -> None:
    if key == "requiressl":  # libpq's old spelling: requiressl=1 is sslmode=require, anything else prefer
        key, value = "sslmode", "require" if value.startswith("1") else "prefer"
    if key not in KEYWORDS:
        guess = _ALIASES.get(key) or next(iter(difflib.get_close_matches(key, sorted(KEYWORDS), n=1)), None)
        hint = f" (did you mean {guess!r}?)" if guess else ""
        raise _invalid(f"unknown {kind} {key!r}{hint}")
    params[key] = value


def _invalid(reason: str) -> InterfaceError:
    return InterfaceError(f"invalid DSN: {reason}")


# --- resolving --------------------------------------------------------------------------------------------------


def resolve(
    dsn: str | None = None,
    *,
    host: str | Sequence[str] | None = None,
    port: int | str | Sequence[int | str] | None = None,
    user: str | None = None,
    password: str | None = None,
    database: str | None = None,
    ssl: bool | str | _ssl.SSLContext | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    server_settings: Mapping[str, str] | None = None,
    environ: Mapping[str, str],
    passfile_text: str | None,
    default_user: str,
    default_host: str = "localhost",
) -> ConnectParams:
    """Turn the arguments of connect() into connection parameters, as libpq would.

    Each setting comes from the first of: the keyword argument, the DSN, its PG* environment variable, the
    default (host `default_host`, port 5432, user `default_user`, database the user name, sslmode prefer). An
    empty value counts as "use the default". The one exception is `timeout`: a connect_timeout in the DSN or
    PGCONNECT_TIMEOUT replaces the default of 60 seconds, while any other `timeout` wins over both.

    Args:
        host, port: one each, a comma-separated list, or a list; a single port serves every host.
        ssl: None (the sslmode found elsewhere), True (require, or the verify-* mode found elsewhere), False
            (disable), an sslmode, or an ssl.SSLContext (kept in `ssl_context`; sslmode as for True).
        server_settings: startup parameters, merged over application_name and options from the DSN.
        environ: the process environment (os.environ).
        passfile_text: the contents of the password file (see `passfile_path`), or None if there is none.
        default_user: the operating-system user name.
        default_host: the host when none is given anywhere, e.g. a Unix-socket directory the driver found.

    Raises:
        InterfaceError: a malformed DSN or value, naming it and where it came from.
    """
    found = _Found()
    for keyword, variable in _ENVIRON.items():
        if variable in environ:
            found.put(keyword, environ[variable], variable)
    if dsn is not None:
        if not isinstance(dsn, str):
            raise InterfaceError(f"invalid dsn argument {dsn!r}: expected a str")
        for keyword, value in parse_dsn(dsn).items():
            found.put(keyword, value, "the DSN")
    for keyword, name, given in (
        ("host", "host", _list_argument("host", host, (str,))),
        ("port", "port", _list_argument("port", port, (str, int))),
        ("user", "user", _list_argument("user", user, ())),
        ("password", "password", _list_argument("password", password, ())),
        ("dbname", "database", _list_argument("database", database, ())),
    ):
        if given is not None:
            found.put(keyword, given, f"the {name} argument")

    for keyword, refused in _UNSUPPORTED.items():
        value = found.get(keyword)
        if value and (refused is None or value in refused):
            raise InterfaceError(f"{keyword}={value!r} (from {found.origin(keyword)}) is not supported by pgproto")

    resolved_user = found.get("user") or default_user
    if not resolved_user:
        raise InterfaceError("no user name: pass user=..., put one in the DSN or set PGUSER")
    resolved_database = found.get("dbname") or resolved_user
    addresses = _addresses(found, default_host)

    given_password = found.get("password") or None
    entries = _parse_passfile(passfile_text) if given_password is None and passfile_text else []
    passwords = tuple(
        given_password if given_password is not None else _passfile_lookup(entries, a, resolved_database, resolved_user)
        for a in addresses
    )

    sslmode, ssl_context = _sslmode(found, ssl)
    return ConnectParams(
        addresses=addresses,
        user=resolved_user,
        password=passwords[0],
        database=resolved_database,
        sslmode=sslmode,
        sslrootcert=found.get("sslrootcert") or None,
        sslcert=found.get("sslcert") or None,
        sslkey=found.get("sslkey") or None,
        connect_timeout=_connect_timeout(found, timeout),
        server_settings=_server_settings(found, environ, server_settings),
        target_session_attrs=_choice(found, "target_session_attrs", TARGET_SESSION_ATTRS) or "any",
        ssl_context=ssl_context,
        passwords=passwords,
    )


def passfile_path(environ: Mapping[str, str], home: str, dsn: str | None = None) -> str:
    """Where the password file is: the DSN's passfile, else PGPASSFILE, else ~/.pgpass (libpq "The Password File").

    The driver reads it (libpq ignores it unless only its owner can read it) and hands the text to `resolve`.

    Raises:
        InterfaceError: `dsn` is malformed.
    """
    from_dsn = parse_dsn(dsn).get("passfile") if dsn else None
    return from_dsn or environ.get("PGPASSFILE") or os.path.join(home, ".pgpass")


class _Found:
    """Each keyword's value so far, and where it came from ("the DSN", "PGPORT", "the port argument")."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, str]] = {}

    def put(self, keyword: str, value: str, origin: str) -> None:
        self._entries[keyword] = (value, origin)

    def get(self, keyword: str) -> str:
        """The value, "" when unset (libpq treats an empty value as "use the default")."""
        return self._entries.get(keyword, ("", ""))[0]

    def origin(self, keyword: str) -> str:
        return self._entries.get(keyword, ("", "the default"))[1]

    def split(self, keyword: str) -> list[str]:
        """A comma-separated list (hosts, ports), [] when unset."""
        value = self.get(keyword)
        return value.split(",") if value else []


def _list_argument(name: str, value: object, items: tuple[type, ...]) -> str | None:
    """A str argument; or, given the item types, a list of them as libpq's comma-separated text."""
    if value is None or isinstance(value, str):
        return value
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if items and values and all(isinstance(v, items) and not isinstance(v, bool) for v in values):
        return ",".join(map(str, values))
    expected = "a str" if not items else "a str or a list of str" if items == (str,) else "a str, an int or a list"
    raise InterfaceError(f"invalid {name} argument {value!r}: expected {expected}")


def _addresses(found: _Found, default_host: str) -> tuple[Address, ...]:
    """Pair hosts, hostaddrs and ports as libpq does: equal counts, or a single port for every host."""
    hosts, hostaddrs, ports = found.split("host"), found.split("hostaddr"), found.split("port")
    if hosts and hostaddrs and len(hosts) != len(hostaddrs):
        raise InterfaceError(
            f"could not match {len(hosts)} hosts (from {found.origin('host')}) "
            f"to {len(hostaddrs)} hostaddr values (from {found.origin('hostaddr')})"
        )
    count = max(len(hosts), len(hostaddrs), 1)
    if len(ports) > 1 and len(ports) != count:
        where = found.origin("host" if hosts else "hostaddr")
        raise InterfaceError(
            f"could not match {len(ports)} ports (from {found.origin('port')}) to {count} hosts (from {where})"
        )
    hosts, hostaddrs = hosts or [""] * count, hostaddrs or [""] * count
    ports = ports if len(ports) > 1 else (ports or [""]) * count
    addresses = []
    for name, hostaddr, port in zip(hosts, hostaddrs, ports):
        number = _port(port, found.origin("port"))
        if not hostaddr:
            addresses.append(Address(name or default_host, number))
            continue
        try:
            ipaddress.ip_address(hostaddr)
        except ValueError:
            where = found.origin("hostaddr")
            raise InterfaceError(f"invalid hostaddr {hostaddr!r} in {where}: expected an IP address") from None
        # Without a host name, libpq uses the address itself for .pgpass and for checking the certificate.
        addresses.append(Address(name, number, hostaddr) if name else Address(hostaddr, number))
    return tuple(addresses)


def _port(text: str, origin: str) -> int:
    if not text:
        return DEFAULT_PORT
    if re.fullmatch(r"\s*[0-9]{1,5}\s*", text) and 1 <= int(text) <= 65535:
        return int(text)
    raise InterfaceError(f"invalid port {text!r} in {origin}: expected an integer from 1 to 65535")


def _choice(found: _Found, keyword: str, allowed: Sequence[str]) -> str | None:
    value = found.get(keyword)
    if value and value not in allowed:
        where = found.origin(keyword)
        raise InterfaceError(f"invalid {keyword} {value!r} in {where}: expected one of {', '.join(allowed)}")
    return value or None


def _sslmode(found: _Found, ssl: object) -> tuple[str, _ssl.SSLContext | None]:
    mode = _choice(found, "sslmode", SSLMODES)
    context = None
    if isinstance(ssl, _ssl.SSLContext):
        context = ssl
    if ssl is True or context is not None:
        mode = mode if mode in ("verify-ca", "verify-full") else "require"
    elif ssl is False:
        mode = "disable"
    elif isinstance(ssl, str):
        argument = _Found()
        argument.put("sslmode", ssl, "the ssl argument")
        mode = _choice(argument, "sslmode", SSLMODES)
    elif ssl is not None:
        raise InterfaceError(
            f"invalid ssl argument {ssl!r}: expected None, a bool, an sslmode string or an ssl.SSLContext"
        )
    # sslrootcert=system (the OS's CA store) only makes sense with host-name checks: libpq makes it the default
    # and refuses weaker modes (libpq docs, "SSL Support").
    if context is None and found.get("sslrootcert") == "system":
        if mode is None:
            mode = "verify-full"
        elif mode != "verify-full":
            raise InterfaceError(f"sslmode {mode!r} is too weak for sslrootcert='system': use verify-full")
    return mode or "prefer", context


def _connect_timeout(found: _Found, timeout: object) -> float | None:
    if timeout is not None and (
        not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or math.isnan(timeout) or timeout <= 0
    ):
        raise InterfaceError(f"invalid timeout {timeout!r}: expected a positive number of seconds or None")
    value = found.get("connect_timeout")
    if timeout != DEFAULT_TIMEOUT or not value:
        return None if timeout is None else float(timeout)
    if not _INTEGER.fullmatch(value):
        where = found.origin("connect_timeout")
        raise InterfaceError(f"invalid connect_timeout {value!r} in {where}: expected a whole number of seconds")
    seconds = int(value)
    if seconds <= 0:  # libpq: zero or negative means wait indefinitely
        return None
    return float(max(seconds, 2))  # libpq: a timeout of 1 second is taken as 2


def _server_settings(found: _Found, environ: Mapping[str, str], given: Mapping[str, str] | None) -> dict[str, str]:
    settings = {setting: environ[variable] for variable, setting in _ENVIRON_SETTINGS.items() if environ.get(variable)}
    for keyword in ("application_name", "options", "replication"):
        if value := found.get(keyword):
            settings[keyword] = value
    if "application_name" not in settings and (fallback := found.get("fallback_application_name")):
        settings["application_name"] = fallback
    encoding = found.get("client_encoding")
    if encoding and encoding.lower() not in ("utf8", "utf-8", "unicode", "auto"):
        where = found.origin("client_encoding")
        raise InterfaceError(f"client_encoding {encoding!r} in {where} is not supported: pgproto always uses UTF8")
    for key, value in (given or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InterfaceError(f"invalid server_settings entry {key!r}: {value!r}: expected str keys and values")
        settings[key] = value
    return settings


# --- the password file ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PassfileEntry:
    #: host, port, database, user; None for the wildcard '*'.
    fields: tuple[str | None, ...]
    password: str


def _parse_passfile(text: str) -> list[_PassfileEntry]:
    """Lines `hostname:port:database:username:password`; '\\' escapes ':' and '\\'; '#' starts a comment line."""
    entries = []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line or line.startswith("#"):
            continue
        fields: list[str | None] = []
        value: list[str] = []
        raw_start, i = 0, 0
        while i < len(line) and len(fields) < 5:
            if line[i] == "\\" and i + 1 < len(line):
                value.append(line[i + 1])
                i += 2
                continue
            if line[i] == ":":
                # Only a bare '*' is the wildcard; an escaped '\*' is a literal star.
                fields.append(None if line[raw_start:i] == "*" and len(fields) < 4 else "".join(value))
                value, raw_start = [], i + 1
            else:
                value.append(line[i])
            i += 1
        if len(fields) < 5 and i == len(line):
            fields.append("".join(value))
        if len(fields) == 5:  # libpq skips a line with fewer fields
            entries.append(_PassfileEntry(tuple(fields[:4]), fields[4] or ""))
    return entries


def _passfile_lookup(entries: Sequence[_PassfileEntry], address: Address, database: str, user: str) -> str | None:
    """The password of the first entry matching this address, database and user; None if none (or it is empty)."""
    # libpq looks up 'localhost' for its default socket directory; which one that is depends on how libpq was
    # built, so any socket directory matches 'localhost' as well as its own path.
    hosts = {address.host, "localhost"} if address.is_unix else {address.host}
    for entry in entries:
        entry_host, entry_port, entry_database, entry_user = entry.fields
        if (
            (entry_host is None or entry_host in hosts)
            and entry_port in (None, str(address.port))
            and entry_database in (None, database)
            and entry_user in (None, user)
        ):
            return entry.password or None
    return None
