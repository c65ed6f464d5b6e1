"""_frontend: the exact bytes of every client message, and NUL characters refused in strings."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pgproto import InterfaceError
from pgproto import _frontend as f

from .helpers import i16, i32, msg, u32


def test_startup_message() -> None:
    data = f.startup_message({"user": "app", "database": "db"})
    body = i32(196608) + b"user\0app\0database\0db\0" + b"\0"
    assert data == i32(len(body) + 4) + body
    assert data[4:8] == b"\x00\x03\x00\x00"  # protocol 3.0


def test_startup_message_keeps_parameter_order_and_utf8() -> None:
    data = f.startup_message({"user": "é", "application_name": "x y"})
    assert data[8:] == "user\0é\0application_name\0x y\0\0".encode()
    assert int.from_bytes(data[:4], "big") == len(data)


def test_ssl_request() -> None:
    assert f.ssl_request() == b"\x00\x00\x00\x08\x04\xd2\x16\x2f"  # 1234 << 16 | 5679


def test_cancel_request() -> None:
    assert f.cancel_request(4242, b"\x00\x00\x10\x01") == (
        i32(16) + b"\x04\xd2\x16\x2e" + i32(4242) + b"\x00\x00\x10\x01"
    )


def test_cancel_request_with_a_long_key() -> None:
    key = bytes(range(32))  # protocol 3.2 keys are up to 256 bytes
    assert f.cancel_request(1, key) == i32(44) + i32(80877102) + i32(1) + key


def test_password_message() -> None:
    assert f.password_message(b"secret") == b"p\x00\x00\x00\x0bsecret\x00"


def test_sasl_initial_response() -> None:
    data = b"n,,n=,r=abc"
    assert f.sasl_initial_response("SCRAM-SHA-256", data) == msg(b"p", b"SCRAM-SHA-256\0" + i32(len(data)) + data)


def test_sasl_response() -> None:
    assert f.sasl_response(b"c=biws,r=x,p=y") == msg(b"p", b"c=biws,r=x,p=y")


def test_query() -> None:
    assert f.query("SELECT 1") == b"Q\x00\x00\x00\x0dSELECT 1\x00"


def test_parse() -> None:
    assert f.parse("s1", "SELECT $1, $2", [23, 0]) == msg(b"P", b"s1\0SELECT $1, $2\0" + i16(2) + u32(23) + u32(0))


def test_parse_unnamed_without_types() -> None:
    assert f.parse("", "SELECT 1") == msg(b"P", b"\0SELECT 1\0" + i16(0))


def test_parse_oid_above_int32() -> None:
    assert f.parse("", "q", [4294967295]) == msg(b"P", b"\0q\0" + i16(1) + b"\xff\xff\xff\xff")


def test_bind() -> None:
    data = f.bind("p", "s", [1, 0], [b"\x00\x00\x00\x2a", None, b"txt"], [1])
    body = (
        b"p\0s\0"
        + i16(2) + i16(1) + i16(0)
        + i16(3) + i32(4) + b"\x00\x00\x00\x2a" + i32(-1) + i32(3) + b"txt"
        + i16(1) + i16(1)
    )  # fmt: skip
    assert data == msg(b"B", body)


def test_bind_nothing() -> None:
    assert f.bind("", "", [], [], []) == msg(b"B", b"\0\0" + i16(0) + i16(0) + i16(0))


def test_bind_empty_value_is_not_null() -> None:
    assert f.bind("", "", [], [b""], []) == msg(b"B", b"\0\0" + i16(0) + i16(1) + i32(0) + i16(0))


def test_describe() -> None:
    assert f.describe_statement("s1") == msg(b"D", b"Ss1\0")
    assert f.describe_portal("") == msg(b"D", b"P\0")


def test_execute() -> None:
    assert f.execute("") == msg(b"E", b"\0" + i32(0))
    assert f.execute("p", 10) == msg(b"E", b"p\0" + i32(10))


def test_close() -> None:
    assert f.close_statement("s1") == msg(b"C", b"Ss1\0")
    assert f.close_portal("p") == msg(b"C", b"Pp\0")


def test_messages_without_a_body() -> None:
    assert f.sync() == b"S\x00\x00\x00\x04"
    assert f.flush() == b"H\x00\x00\x00\x04"
    assert f.copy_done() == b"c\x00\x00\x00\x04"
    assert f.terminate() == b"X\x00\x00\x00\x04"


def test_copy_data() -> None:
    assert f.copy_data(b"1\tone\n") == b"d\x00\x00\x00\x0a1\tone\n"
    assert f.copy_data(b"") == msg(b"d")


def test_copy_fail() -> None:
    assert f.copy_fail("no thanks") == msg(b"f", b"no thanks\0")


NUL_IN_A_STRING: list[tuple[str, Callable[[], bytes]]] = [
    ("startup name", lambda: f.startup_message({"us\0er": "app"})),
    ("startup value", lambda: f.startup_message({"user": "a\0pp"})),
    ("password", lambda: f.password_message(b"pass\0word")),
    ("SASL mechanism", lambda: f.sasl_initial_response("SCRAM\0", b"")),
    ("query", lambda: f.query("SELECT 1;\0DROP TABLE x")),
    ("parse statement", lambda: f.parse("s\0", "SELECT 1")),
    ("parse query", lambda: f.parse("s", "SELECT\0 1")),
    ("bind portal", lambda: f.bind("p\0", "", [], [], [])),
    ("bind statement", lambda: f.bind("", "s\0", [], [], [])),
    ("describe statement", lambda: f.describe_statement("s\0")),
    ("describe portal", lambda: f.describe_portal("\0")),
    ("execute portal", lambda: f.execute("p\0")),
    ("close statement", lambda: f.close_statement("s\0")),
    ("close portal", lambda: f.close_portal("p\0")),
    ("copy fail reason", lambda: f.copy_fail("why\0")),
]


@pytest.mark.parametrize("build", [n[1] for n in NUL_IN_A_STRING], ids=[n[0] for n in NUL_IN_A_STRING])
def test_nul_in_a_string_is_an_interface_error(build: Callable[[], bytes]) -> None:
    with pytest.raises(InterfaceError, match="NUL"):
        build()


def test_empty_startup_parameter_name_is_refused() -> None:
    # An empty name is the terminator of the parameter list: the server would read what follows as garbage.
    with pytest.raises(InterfaceError, match="empty"):
        f.startup_message({"user": "app", "": "x"})


def test_empty_startup_parameter_value_is_fine() -> None:
    assert f.startup_message({"user": "app", "options": ""})[8:] == b"user\0app\0options\0\0\0"


OUT_OF_RANGE: list[tuple[str, Callable[[], bytes]]] = [
    ("negative parameter type", lambda: f.parse("", "", [-1])),
    ("parameter type above 2**32", lambda: f.parse("", "", [2**32])),
    ("too many parameter types", lambda: f.parse("", "", [0] * 32768)),
    ("parameter format beyond int16", lambda: f.bind("", "", [65536], [], [])),
    ("result format beyond int16", lambda: f.bind("", "", [], [], [-32769])),
    ("too many parameters", lambda: f.bind("", "", [], [b""] * 32768, [])),
    ("max_rows beyond int32", lambda: f.execute("", 2**31)),
]


@pytest.mark.parametrize("build", [o[1] for o in OUT_OF_RANGE], ids=[o[0] for o in OUT_OF_RANGE])
def test_integer_out_of_range_is_an_interface_error(build: Callable[[], bytes]) -> None:
    # Found by the fuzzer: struct.error escaped from the encoders.
    with pytest.raises(InterfaceError, match="out of range"):
        build()


def test_nul_in_data_is_fine() -> None:
    assert f.copy_data(b"\0") == msg(b"d", b"\0")
    assert f.sasl_response(b"\0") == msg(b"p", b"\0")
    assert f.bind("", "", [1], [b"\0"], []) == msg(b"B", b"\0\0" + i16(1) + i16(1) + i16(1) + i32(1) + b"\0" + i16(0))
