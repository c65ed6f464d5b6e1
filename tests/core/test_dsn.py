"""_dsn: libpq URIs and key=value strings, precedence over PG* variables and defaults, .pgpass, the ssl argument."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

import pytest

from pgproto import InterfaceError
from pgproto._dsn import Address, ConnectParams, parse_dsn, passfile_path, resolve


def params(
    dsn: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    passfile: str | None = None,
    # Any: the tests also pass wrongly typed arguments on purpose, to check that resolve() refuses them.
    **kwargs: Any,
) -> ConnectParams:
    return resolve(dsn, environ=environ or {}, passfile_text=passfile, default_user="me", **kwargs)


def addresses(*pairs: tuple[str, int]) -> tuple[Address, ...]:
    return tuple(Address(host, port) for host, port in pairs)


# --- URIs -------------------------------------------------------------------------------------------------------


def test_uri_with_every_part() -> None:
    dsn = "postgresql://alice:s3cret@db.example.com:6543/app?sslmode=verify-full&application_name=web"
    assert parse_dsn(dsn) == {
        "user": "alice",
        "password": "s3cret",
        "host": "db.example.com",
        "port": "6543",
        "dbname": "app",
        "sslmode": "verify-full",
        "application_name": "web",
    }


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "PostgreSQL"])
def test_uri_schemes(scheme: str) -> None:
    assert parse_dsn(f"{scheme}://h/db") == {"host": "h", "dbname": "db"}


def test_uri_percent_decoding_in_every_part() -> None:
    dsn = "postgresql://al%69ce:p%40ss%3Aw%2Fd@h%2Dx/caf%C3%A9%2Fdb?options=-c%20search_path%3Dx%26y"
    assert parse_dsn(dsn) == {
        "user": "alice",
        "password": "p@ss:w/d",
        "host": "h-x",
        "dbname": "café/db",
        "options": "-c search_path=x&y",
    }


def test_uri_user_without_password_and_password_with_colons() -> None:
    assert parse_dsn("postgresql://bob@h") == {"user": "bob", "host": "h"}
    assert parse_dsn("postgresql://bob:@h") == {"user": "bob", "host": "h"}
    assert parse_dsn("postgresql://bob:a:b@h") == {"user": "bob", "password": "a:b", "host": "h"}
    assert parse_dsn("postgresql://:pw@h") == {"password": "pw", "host": "h"}


def test_uri_last_at_sign_ends_the_user_info() -> None:
    assert parse_dsn("postgresql://bob:p@ss@h/db") == {"user": "bob", "password": "p@ss", "host": "h", "dbname": "db"}


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql://[::1]/db", {"host": "::1", "dbname": "db"}),
        ("postgresql://[::1]:5433/db", {"host": "::1", "port": "5433", "dbname": "db"}),
        ("postgresql://[fe80::1%25eth0]:5433", {"host": "fe80::1%eth0", "port": "5433"}),
        ("postgresql://[2001:db8::7]?sslmode=disable", {"host": "2001:db8::7", "sslmode": "disable"}),
    ],
)
def test_uri_ipv6_in_brackets(dsn: str, expected: dict[str, str]) -> None:
    assert parse_dsn(dsn) == expected


def test_uri_several_hosts() -> None:
    assert parse_dsn("postgresql://h1:5433,[::1]:5434,h3/db") == {
        "host": "h1,::1,h3",
        "port": "5433,5434,",
        "dbname": "db",
    }
    assert parse_dsn("postgresql://h1,h2/db") == {"host": "h1,h2", "dbname": "db"}
    assert params("postgresql://h1,h2:5434/db").addresses == addresses(("h1", 5432), ("h2", 5434))
    assert params("postgresql://h1:5433,h2:5434").addresses == addresses(("h1", 5433), ("h2", 5434))


def test_uri_socket_directory_in_host_part() -> None:
    assert parse_dsn("postgresql://%2Ftmp%2Fsock/db") == {"host": "/tmp/sock", "dbname": "db"}
    address = params("postgresql://%2Fvar%2Frun%2Fpostgresql:5433/db").addresses[0]
    assert address == Address("/var/run/postgresql", 5433)
    assert address.is_unix
    assert address.unix_socket_path() == "/var/run/postgresql/.s.PGSQL.5433"


def test_uri_socket_directory_in_query() -> None:
    assert parse_dsn("postgresql:///db?host=/var/run/postgresql") == {"dbname": "db", "host": "/var/run/postgresql"}
    assert parse_dsn("postgresql:///db?host=%2Ftmp&port=5433") == {"dbname": "db", "host": "/tmp", "port": "5433"}
    assert params("postgresql://user@/db?host=/tmp").addresses == addresses(("/tmp", 5432))


def test_uri_query_overrides_the_earlier_parts() -> None:
    assert parse_dsn("postgresql://u@h1:1/db1?host=h2&port=2&dbname=db2&user=v") == {
        "user": "v",
        "host": "h2",
        "port": "2",
        "dbname": "db2",
    }


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql://", {}),
        ("postgres://", {}),
        ("postgresql:///", {}),
        ("postgresql:///db", {"dbname": "db"}),
        ("postgresql://h/", {"host": "h"}),
        ("postgresql://h?", {"host": "h"}),
        ("postgresql://:5433/db", {"port": "5433", "dbname": "db"}),
        ("postgresql://?dbname=x&", {"dbname": "x"}),
        ("postgresql://h/a/b", {"host": "h", "dbname": "a/b"}),
    ],
)
def test_uri_with_parts_missing(dsn: str, expected: dict[str, str]) -> None:
    assert parse_dsn(dsn) == expected


def test_uri_without_host_uses_the_defaults() -> None:
    result = params("postgresql:///db")
    assert result.addresses == addresses(("localhost", 5432))
    assert (result.user, result.database) == ("me", "db")


def test_uri_jdbc_ssl_true_and_requiressl() -> None:
    assert parse_dsn("postgresql://h?ssl=true") == {"host": "h", "sslmode": "require"}
    assert parse_dsn("postgresql://h?requiressl=1") == {"host": "h", "sslmode": "require"}
    assert parse_dsn("requiressl=0") == {"sslmode": "prefer"}


def test_uri_surrounding_spaces_are_dropped() -> None:
    assert parse_dsn("  postgresql://h/db  ") == {"host": "h", "dbname": "db"}
    assert parse_dsn("postgresql://h?application_name=%20x%20") == {"host": "h", "application_name": " x "}


# --- key=value strings ------------------------------------------------------------------------------------------


def test_keyword_value_basics() -> None:
    assert parse_dsn("host=h port=5433 dbname=db user=u password=pw") == {
        "host": "h",
        "port": "5433",
        "dbname": "db",
        "user": "u",
        "password": "pw",
    }


def test_keyword_value_spaces_around_equals_and_between_pairs() -> None:
    assert parse_dsn("  host = h\tport =5433\n dbname= db  ") == {"host": "h", "port": "5433", "dbname": "db"}


def test_keyword_value_quoting_and_escapes() -> None:
    dsn = r"password='it\'s a \\ secret' application_name='' options='-c x=1' dbname=a\ b user=o'k"
    assert parse_dsn(dsn) == {
        "password": "it's a \\ secret",
        "application_name": "",
        "options": "-c x=1",
        "dbname": "a b",
        "user": "o'k",
    }


def test_keyword_value_quoted_value_needs_no_following_space() -> None:
    assert parse_dsn("host='h'port=1") == {"host": "h", "port": "1"}


def test_keyword_value_last_one_wins() -> None:
    assert parse_dsn("host=a host=b") == {"host": "b"}


def test_keyword_value_empty_string() -> None:
    assert parse_dsn("") == {}
    assert parse_dsn("   ") == {}


def test_keyword_value_several_hosts() -> None:
    result = params("host=h1,h2,h3 port=1,2,3")
    assert result.addresses == addresses(("h1", 1), ("h2", 2), ("h3", 3))


# --- malformed input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("mysql://h/db", "invalid DSN: unsupported scheme 'mysql': expected 'postgresql://' or 'postgres://'"),
        ("postgresql+asyncpg://h/db", "unsupported scheme 'postgresql+asyncpg'"),
        ("postgresql:h/db", "invalid DSN: expected '//' after 'postgresql:'"),
        ("host='h", "invalid DSN: unterminated quoted value for 'host': missing the closing quote"),
        ("host='h\\'", "unterminated quoted value for 'host'"),
        ("foo=bar", "invalid DSN: unknown parameter 'foo'"),
        ("database=x", "unknown parameter 'database' (did you mean 'dbname'?)"),
        ("hots=x", "unknown parameter 'hots' (did you mean 'host'?)"),
        ("postgresql://h/db?foo=1", "invalid DSN: unknown query parameter 'foo'"),
        ("postgresql://h/db?ssl=false", "unknown query parameter 'ssl' (did you mean 'sslmode'?)"),
        ("mydb", "invalid DSN: missing '=' after 'mydb': expected a postgresql:// URI or keyword=value pairs"),
        ("host=h port", "invalid DSN: missing '=' after 'port'"),
        ("host h", "missing '=' after 'host'"),
        ("=x", "invalid DSN: expected a parameter name before '=' at position 0"),
        ("postgresql://h/db?x", "invalid DSN: query parameter 'x' has no '=' and value"),
        ("postgresql://h/db?a=b=c", "query parameter 'a' has a second '=': percent-encode it as %3D"),
        ("postgresql://::1/db", "unexpected ':' in the port of '::1': write an IPv6 address in brackets"),
        ("postgresql://[::1/db", "invalid DSN: missing ']' after the IPv6 address in '[::1'"),
        ("postgresql://[]/db", "invalid DSN: empty IPv6 address '[]'"),
        ("postgresql://[::1]x/db", "unexpected 'x' after the IPv6 address in '[::1]x': expected ':' and a port"),
        ("postgresql://h/d%zz", "invalid percent-encoding in the database name 'd%zz'"),
        ("postgresql://h/d%4", "invalid percent-encoding in the database name 'd%4'"),
        ("postgresql://h/d%00", "invalid DSN: %00 is not allowed in the database name 'd%00'"),
        ("postgresql://h/%FF", "the database name '%FF' is not UTF-8 once percent-decoded"),
        ("postgresql://h/my db", "unexpected space in the database name 'my db': percent-encode it as %20"),
        ("host=a\0b", "invalid DSN: contains a NUL character"),
    ],
)
def test_malformed_dsn(dsn: str, message: str) -> None:
    with pytest.raises(InterfaceError, match=r"^invalid DSN: ") as info:
        parse_dsn(dsn)
    assert message in str(info.value)
    with pytest.raises(InterfaceError):
        params(dsn)


@pytest.mark.parametrize(
    ("dsn", "part"),
    [
        ("postgresql://u:hun ter2@h/db", "unexpected space in the password: percent-encode it as %20"),
        ("postgresql://u:hun%zzter2@h/db", "invalid percent-encoding in the password: '%'"),
        ("postgresql://h/db?password=hun%00ter2", "%00 is not allowed in the value of 'password'"),
    ],
)
def test_malformed_password_is_not_shown(dsn: str, part: str) -> None:
    with pytest.raises(InterfaceError) as info:
        parse_dsn(dsn)
    assert part in str(info.value)
    assert "hun" not in str(info.value)
    assert "ter2" not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dsn": "port=abc"}, "invalid port 'abc' in the DSN: expected an integer from 1 to 65535"),
        ({"dsn": "postgresql://h:0/db"}, "invalid port '0' in the DSN"),
        ({"dsn": "postgresql://h:65536/db"}, "invalid port '65536' in the DSN"),
        ({"dsn": "port=-1"}, "invalid port '-1' in the DSN"),
        ({"dsn": "host=h1,h2 port=1,2,3"}, "could not match 3 ports (from the DSN) to 2 hosts (from the DSN)"),
        ({"port": "1,2"}, "could not match 2 ports (from the port argument) to 1 hosts (from the default)"),
        ({"port": 70000}, "invalid port '70000' in the port argument"),
        ({"port": "5432x"}, "invalid port '5432x' in the port argument"),
        ({"environ": {"PGPORT": "x"}}, "invalid port 'x' in PGPORT"),
        ({"host": ["a", "b"], "environ": {"PGPORT": "1,2,3"}}, "could not match 3 ports (from PGPORT) to 2 hosts"),
        ({"dsn": "host=a,b hostaddr=127.0.0.1"}, "could not match 2 hosts (from the DSN) to 1 hostaddr values"),
        ({"dsn": "hostaddr=db.example.com"}, "invalid hostaddr 'db.example.com' in the DSN: expected an IP address"),
        ({"dsn": "sslmode=on"}, "invalid sslmode 'on' in the DSN: expected one of disable, allow, prefer, require"),
        ({"environ": {"PGSSLMODE": "Require"}}, "invalid sslmode 'Require' in PGSSLMODE"),
        ({"ssl": "strict"}, "invalid sslmode 'strict' in the ssl argument"),
        ({"ssl": 1}, "invalid ssl argument 1: expected None, a bool, an sslmode string or an ssl.SSLContext"),
        ({"dsn": "connect_timeout=soon"}, "invalid connect_timeout 'soon' in the DSN: expected a whole number"),
        ({"environ": {"PGCONNECT_TIMEOUT": "1.5"}}, "invalid connect_timeout '1.5' in PGCONNECT_TIMEOUT"),
        ({"timeout": 0}, "invalid timeout 0: expected a positive number of seconds or None"),
        ({"timeout": -1.0}, "invalid timeout -1.0"),
        ({"timeout": float("nan")}, "invalid timeout nan"),
        ({"timeout": "5"}, "invalid timeout '5'"),
        ({"timeout": True}, "invalid timeout True"),
        ({"dsn": "target_session_attrs=master"}, "invalid target_session_attrs 'master' in the DSN"),
        ({"dsn": "client_encoding=LATIN1"}, "client_encoding 'LATIN1' in the DSN is not supported"),
        ({"dsn": "service=prod"}, "service='prod' (from the DSN) is not supported by pgproto"),
        ({"environ": {"PGSERVICE": "prod"}}, "service='prod' (from PGSERVICE) is not supported"),
        ({"dsn": "channel_binding=require"}, "channel_binding='require' (from the DSN) is not supported"),
        ({"dsn": "require_auth=scram-sha-256"}, "require_auth='scram-sha-256' (from the DSN) is not supported"),
        ({"dsn": "gssencmode=require"}, "gssencmode='require' (from the DSN) is not supported"),
        ({"server_settings": {"search_path": 1}}, "invalid server_settings entry 'search_path': 1"),
        ({"user": 1}, "invalid user argument 1: expected a str"),
        ({"database": b"db"}, "invalid database argument b'db'"),
        ({"host": 5}, "invalid host argument 5: expected a str or a list of str"),
        ({"host": []}, "invalid host argument []"),
        ({"port": True}, "invalid port argument True: expected a str, an int or a list"),
        ({"port": b"54"}, "invalid port argument b'54'"),
        ({"dsn": b"host=h"}, "invalid dsn argument b'host=h': expected a str"),
        ({"dsn": "sslrootcert=system sslmode=require"}, "sslmode 'require' is too weak for sslrootcert='system'"),
    ],
)
def test_invalid_values(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InterfaceError) as info:
        params(**kwargs)
    assert message in str(info.value)


def test_ignored_libpq_keywords_are_accepted() -> None:
    result = params("keepalives=1 channel_binding=prefer gssencmode=disable sslcrl=x passfile=/p load_balance_hosts=x")
    assert result.addresses == addresses(("localhost", 5432))


# --- precedence -------------------------------------------------------------------------------------------------

ENVIRON = {
    "PGHOST": "envhost",
    "PGPORT": "1111",
    "PGUSER": "envuser",
    "PGPASSWORD": "envpw",
    "PGDATABASE": "envdb",
    "PGSSLMODE": "disable",
    "PGAPPNAME": "envapp",
}


def test_defaults() -> None:
    result = params()
    assert result == ConnectParams(
        addresses=addresses(("localhost", 5432)),
        user="me",
        password=None,
        database="me",
        sslmode="prefer",
        sslrootcert=None,
        sslcert=None,
        sslkey=None,
        connect_timeout=60.0,
        server_settings={},
        target_session_attrs="any",
        ssl_context=None,
        passwords=(None,),
    )


def test_default_host_can_be_given() -> None:
    assert params(default_host="/var/run/postgresql").addresses == addresses(("/var/run/postgresql", 5432))


def test_environment_over_defaults() -> None:
    result = params(environ=ENVIRON)
    assert result.addresses == addresses(("envhost", 1111))
    assert (result.user, result.password, result.database, result.sslmode) == ("envuser", "envpw", "envdb", "disable")
    assert result.server_settings == {"application_name": "envapp"}


def test_database_defaults_to_the_resolved_user() -> None:
    assert params(environ={"PGUSER": "envuser"}).database == "envuser"
    assert params("user=dsnuser", environ={"PGUSER": "envuser"}).database == "dsnuser"
    assert params(user="arg").database == "arg"


def test_dsn_over_environment() -> None:
    dsn = "postgresql://dsnuser:dsnpw@dsnhost:2222/dsndb?sslmode=require&application_name=dsnapp"
    result = params(dsn, environ=ENVIRON)
    assert result.addresses == addresses(("dsnhost", 2222))
    assert (result.user, result.password, result.database, result.sslmode) == ("dsnuser", "dsnpw", "dsndb", "require")
    assert result.server_settings == {"application_name": "dsnapp"}


def test_dsn_parts_left_out_come_from_the_environment() -> None:
    result = params("postgresql://dsnhost/dsndb", environ=ENVIRON)
    assert result.addresses == addresses(("dsnhost", 1111))
    assert (result.user, result.password, result.database) == ("envuser", "envpw", "dsndb")


def test_arguments_over_dsn() -> None:
    dsn = "postgresql://dsnuser:dsnpw@dsnhost:2222/dsndb?sslmode=require"
    result = params(dsn, environ=ENVIRON, host="arghost", port=3333, user="arguser", password="argpw", database="argdb")
    assert result.addresses == addresses(("arghost", 3333))
    assert (result.user, result.password, result.database) == ("arguser", "argpw", "argdb")


def test_empty_value_means_the_default_not_the_environment() -> None:
    # As in libpq: an empty value is set, so PG* is not consulted, and empty means the built-in default.
    result = params("host='' port='' user='' dbname=''", environ=ENVIRON)
    assert result.addresses == addresses(("localhost", 5432))
    assert (result.user, result.database) == ("me", "me")


def test_host_and_port_arguments_as_lists() -> None:
    assert params(host=["a", "b"], port=[1, "2"]).addresses == addresses(("a", 1), ("b", 2))
    assert params(host=("a", "b"), port=7).addresses == addresses(("a", 7), ("b", 7))
    assert params(host="a,b", port="7").addresses == addresses(("a", 7), ("b", 7))
    assert params(host="a,,b").addresses == addresses(("a", 5432), ("localhost", 5432), ("b", 5432))


def test_one_port_serves_every_host() -> None:
    assert params("host=a,b,c port=7").addresses == addresses(("a", 7), ("b", 7), ("c", 7))
    assert params("host=a,b", environ={"PGPORT": "7"}).addresses == addresses(("a", 7), ("b", 7))


def test_argument_host_keeps_the_dsn_ports() -> None:
    # Each keyword is resolved on its own, as in libpq: the DSN's two ports no longer match one host.
    with pytest.raises(InterfaceError, match=r"could not match 2 ports \(from the DSN\) to 1 hosts \(from the host"):
        params("postgresql://h1:1,h2:2/db", host="x")


def test_unix_socket_host_from_environment() -> None:
    address = params(environ={"PGHOST": "/tmp"}).addresses[0]
    assert address == Address("/tmp", 5432)
    assert address.unix_socket_path() == "/tmp/.s.PGSQL.5432"


def test_hostaddr() -> None:
    assert params("hostaddr=10.0.0.1").addresses == (Address("10.0.0.1", 5432),)
    both = params("host=db.example.com hostaddr=10.0.0.1 port=5433").addresses
    assert both == (Address("db.example.com", 5433, "10.0.0.1"),)
    assert not both[0].is_unix
    assert params("host=a,b hostaddr=::1,10.0.0.2").addresses == (
        Address("a", 5432, "::1"),
        Address("b", 5432, "10.0.0.2"),
    )
    assert params(environ={"PGHOSTADDR": "127.0.0.1"}).addresses == (Address("127.0.0.1", 5432),)


def test_ssl_files_and_target_session_attrs() -> None:
    result = params(
        "sslrootcert=/ca.pem sslcert=/c.pem target_session_attrs=read-write",
        environ={"PGSSLKEY": "/k.pem", "PGSSLCERT": "/env.pem"},
    )
    assert (result.sslrootcert, result.sslcert, result.sslkey) == ("/ca.pem", "/c.pem", "/k.pem")
    assert result.target_session_attrs == "read-write"
    assert params(environ={"PGTARGETSESSIONATTRS": "standby"}).target_session_attrs == "standby"


# --- connect timeout --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "environ", "timeout", "expected"),
    [
        (None, {}, 60, 60.0),
        ("connect_timeout=10", {}, 60, 10.0),
        (None, {"PGCONNECT_TIMEOUT": "15"}, 60, 15.0),
        ("connect_timeout=10", {"PGCONNECT_TIMEOUT": "15"}, 60, 10.0),
        ("connect_timeout=10", {}, 5, 5.0),
        ("connect_timeout=10", {}, 2.5, 2.5),
        ("connect_timeout=10", {}, None, None),
        ("connect_timeout=0", {}, 60, None),
        ("connect_timeout=-3", {}, 60, None),
        ("connect_timeout=1", {}, 60, 2.0),
        ("connect_timeout=' 7 '", {}, 60, 7.0),
        ("connect_timeout=''", {"PGCONNECT_TIMEOUT": "15"}, 60, 60.0),
    ],
)
def test_connect_timeout(
    dsn: str | None, environ: dict[str, str], timeout: float | None, expected: float | None
) -> None:
    assert params(dsn, environ=environ, timeout=timeout).connect_timeout == expected


# --- server settings --------------------------------------------------------------------------------------------


def test_server_settings_from_dsn_and_environment() -> None:
    result = params(
        "options='-c search_path=app -c statement_timeout=5s' replication=database",
        environ={"PGAPPNAME": "envapp", "PGTZ": "UTC", "PGGEQO": "off", "PGDATESTYLE": "German"},
    )
    assert result.server_settings == {
        "timezone": "UTC",
        "geqo": "off",
        "application_name": "envapp",
        "options": "-c search_path=app -c statement_timeout=5s",
        "replication": "database",
    }
    assert params(environ={"PGOPTIONS": "-c x=1"}).server_settings == {"options": "-c x=1"}


def test_fallback_application_name() -> None:
    assert params("fallback_application_name=fb").server_settings == {"application_name": "fb"}
    assert params("fallback_application_name=fb application_name=app").server_settings == {"application_name": "app"}
    assert params("fallback_application_name=fb", environ={"PGAPPNAME": "env"}).server_settings == {
        "application_name": "env"
    }


def test_server_settings_argument_merges_over_the_dsn() -> None:
    result = params(
        "application_name=dsnapp options=-cx=1",
        server_settings={"application_name": "argapp", "search_path": "s"},
    )
    assert result.server_settings == {"application_name": "argapp", "options": "-cx=1", "search_path": "s"}


@pytest.mark.parametrize("encoding", ["UTF8", "utf-8", "unicode", "auto"])
def test_client_encoding_utf8_is_accepted_and_left_to_the_core(encoding: str) -> None:
    assert params(f"client_encoding={encoding}").server_settings == {}


def test_client_encoding_from_the_environment_is_ignored() -> None:
    assert params(environ={"PGCLIENTENCODING": "LATIN1"}).server_settings == {}


# --- ssl --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ssl_argument", "dsn_mode", "expected"),
    [
        (None, None, "prefer"),
        (None, "verify-ca", "verify-ca"),
        (True, None, "require"),
        (True, "disable", "require"),
        (True, "prefer", "require"),
        (True, "verify-ca", "verify-ca"),
        (True, "verify-full", "verify-full"),
        (False, None, "disable"),
        (False, "verify-full", "disable"),
        ("allow", "verify-full", "allow"),
        ("verify-full", None, "verify-full"),
    ],
)
def test_ssl_argument(ssl_argument: bool | str | None, dsn_mode: str | None, expected: str) -> None:
    dsn = f"sslmode={dsn_mode}" if dsn_mode else None
    result = params(dsn, ssl=ssl_argument)
    assert result.sslmode == expected
    assert result.ssl_context is None


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, "require"), ({"PGSSLMODE": "disable"}, "require"), ({"PGSSLMODE": "verify-full"}, "verify-full")],
)
def test_ssl_context_argument(environ: dict[str, str], expected: str) -> None:
    context = ssl.create_default_context()
    result = params(environ=environ, ssl=context)
    assert result.ssl_context is context
    assert result.sslmode == expected


def test_sslrootcert_system_means_verify_full() -> None:
    assert params("sslrootcert=system").sslmode == "verify-full"
    assert params("sslrootcert=system sslmode=verify-full").sslmode == "verify-full"


# --- .pgpass ----------------------------------------------------------------------------------------------------

PGPASS = """\
# hostname:port:database:username:password
db.example.com:5432:app:alice:exact
db.example.com:*:*:alice:any-port-any-db
*:5433:*:*:port-5433
/tmp:*:*:bob:tmp-socket
localhost:*:*:*:local
*:*:*:*:fallback
"""


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("host=db.example.com dbname=app user=alice", "exact"),
        ("host=db.example.com dbname=other user=alice", "any-port-any-db"),
        ("host=db.example.com port=5499 dbname=app user=alice", "any-port-any-db"),
        ("host=elsewhere port=5433 user=carol", "port-5433"),
        ("host=localhost user=carol", "local"),
        ("host=/var/run/postgresql user=carol", "local"),
        ("host=/tmp user=bob", "tmp-socket"),
        ("host=/tmp user=carol", "local"),
        ("host=elsewhere user=carol", "fallback"),
    ],
)
def test_pgpass_matching(dsn: str, expected: str) -> None:
    assert params(dsn, passfile=PGPASS).password == expected


def test_pgpass_first_matching_line_wins() -> None:
    text = "*:*:*:*:first\n*:*:*:*:second\n"
    assert params(passfile=text).password == "first"


def test_pgpass_no_match() -> None:
    assert params("host=h user=u", passfile="other:*:*:*:pw\nh:*:*:v:pw\nh:1:*:*:pw\nh:*:db:*:pw\n").password is None
    assert params(passfile="").password is None
    assert params(passfile=None).password is None


def test_pgpass_uses_the_default_database_and_user() -> None:
    assert params(passfile="*:*:me:me:pw").password == "pw"
    assert params(passfile="*:*:envdb:*:pw", environ={"PGDATABASE": "envdb"}).password == "pw"


def test_pgpass_escapes() -> None:
    text = "\\:\\:1:5432:d\\\\b:u\\:x:p\\:w\\\\d\\:\n"
    assert params(host="::1", database="d\\b", user="u:x", passfile=text).password == "p:w\\d:"


def test_pgpass_escaped_star_is_a_literal_star() -> None:
    text = "\\*:*:*:*:literal\n"
    assert params(host="h", passfile=text).password is None
    assert params(host="*", passfile=text).password == "literal"


def test_pgpass_password_ends_at_the_next_unescaped_colon() -> None:
    assert params(passfile="*:*:*:*:pw:extra").password == "pw"


def test_pgpass_comments_blank_and_short_lines_and_crlf() -> None:
    text = "#*:*:*:*:comment\r\n\r\n*:*:*\r\n*:*:*:me\r\n*:*:*:*:pw\r\n"
    assert params(passfile=text).password == "pw"


def test_pgpass_empty_password_stops_the_search() -> None:
    assert params(passfile="*:*:*:*:\n*:*:*:*:later\n").password is None


def test_pgpass_not_read_when_a_password_is_given() -> None:
    assert params(password="given", passfile="*:*:*:*:file").password == "given"
    assert params("password=dsn", passfile="*:*:*:*:file").password == "dsn"
    assert params(environ={"PGPASSWORD": "env"}, passfile="*:*:*:*:file").password == "env"


def test_pgpass_used_when_the_given_password_is_empty() -> None:
    assert params(password="", passfile="*:*:*:*:file").password == "file"
    assert params(password="").password is None


def test_pgpass_matched_against_each_address() -> None:
    text = "h2:*:*:*:pw2\nh1:*:*:*:pw1\n"
    result = params("postgresql://h1,h2,h3/db", passfile=text)
    assert result.passwords == ("pw1", "pw2", None)
    assert result.password == "pw1"
    assert [result.password_for(a) for a in result.addresses] == ["pw1", "pw2", None]
    assert result.password_for(Address("unknown", 1)) == "pw1"


def test_pgpass_hostaddr_without_host_matches_the_address() -> None:
    assert params("hostaddr=10.0.0.1", passfile="10.0.0.1:*:*:*:pw").password == "pw"
    assert params("host=h hostaddr=10.0.0.1", passfile="10.0.0.1:*:*:*:pw\nh:*:*:*:named").password == "named"


def test_password_is_not_in_the_repr() -> None:
    assert "s3cret" not in repr(params(password="s3cret"))


def test_passfile_path() -> None:
    assert passfile_path({}, "/home/me") == "/home/me/.pgpass"
    assert passfile_path({"PGPASSFILE": "/etc/pgpass"}, "/home/me") == "/etc/pgpass"
    assert passfile_path({"PGPASSFILE": "/etc/pgpass"}, "/home/me", "passfile=/p host=h") == "/p"
    assert passfile_path({}, "/home/me", "postgresql://h/db?passfile=%2Fq") == "/q"
    assert passfile_path({}, "/home/me", "postgresql://h/db") == "/home/me/.pgpass"


# --- Address ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "path"),
    [
        (Address("/tmp", 5432), "/tmp/.s.PGSQL.5432"),
        (Address("/var/run/postgresql/", 5433), "/var/run/postgresql/.s.PGSQL.5433"),
        (Address("/", 1), "/.s.PGSQL.1"),
        (Address("@pg", 5432), "@pg/.s.PGSQL.5432"),
    ],
)
def test_unix_socket_path(address: Address, path: str) -> None:
    assert address.is_unix
    assert address.unix_socket_path() == path


def test_tcp_address_has_no_socket_path() -> None:
    address = Address("localhost", 5432)
    assert not address.is_unix
    with pytest.raises(InterfaceError, match="'localhost' is not a Unix-socket directory"):
        address.unix_socket_path()


def test_abstract_socket_from_uri() -> None:
    assert params("postgresql://%40pg/db").addresses[0].is_unix
