"""Codecs for the string-like types: text, varchar, bpchar, name, xml, unknown, "char", bytea, json and jsonb.

The session runs with client_encoding=UTF8 (the core sets it), so text in either format is UTF-8.
"""

from __future__ import annotations

import re
from binascii import a2b_hex
from typing import Final

from ._common import type_name

# --- text, varchar, bpchar, name, xml, unknown, json ----------------------------------------------------------

#: The text and binary forms of these types are the same UTF-8 bytes (textsend / textout). The unbound method is
#: the fastest Python callable there is for the job (strict UTF-8; UnicodeDecodeError is a ValueError).
text_from_bytes: Final = bytes.decode


def text_to_bytes(value: object) -> bytes:
    """UTF-8 of a str; anything else is a TypeError (like asyncpg: no implicit str())."""
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"expected str, got {type_name(value)}")


# --- jsonb ----------------------------------------------------------------------------------------------------
# jsonb_send: a version byte (1) then the same text jsonb_out prints.


def jsonb_from_binary(data: bytes) -> object:
    if data[:1] != b"\x01":
        raise ValueError(f"unsupported jsonb binary format version {data[:1]!r}")
    return data[1:].decode()


def jsonb_to_binary(value: object) -> bytes:
    return b"\x01" + text_to_bytes(value)


# --- "char" ---------------------------------------------------------------------------------------------------
# The one-byte internal type (oid 18). charsend sends the raw byte; charout (PG 15+) prints "" for the zero byte
# and \ooo for a byte >= 0x80. Binary decoding mirrors charout, so both formats give the same str.


def char_from_binary(data: bytes) -> object:
    if len(data) != 1:
        raise ValueError(f'"char" value must be 1 byte, got {len(data)}')
    byte = data[0]
    if byte == 0:
        return ""
    if byte < 0x80:
        return chr(byte)
    return f"\\{byte:03o}"


_CHAR_OCTAL: Final = re.compile(r"\\[0-3][0-7][0-7]")


def char_to_binary(value: object) -> bytes:
    """A str (or bytes) of at most one byte, or the \\ooo form charout prints.

    Raises:
        TypeError: not a str or bytes.
        ValueError: longer than one byte.
    """
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    elif isinstance(value, str):
        if _CHAR_OCTAL.fullmatch(value):
            return bytes((int(value[1:], 8),))
        data = value.encode()
    else:
        raise TypeError(f"expected str, got {type_name(value)}")
    if len(data) > 1:
        raise ValueError(f'"char" holds a single byte, got {value!r}')
    return data or b"\x00"


# --- bytea ----------------------------------------------------------------------------------------------------
# Text output is hex (\x0aff) with the core's bytea_output=hex; the older escape format is read too.


def bytea_from_binary(data: bytes) -> object:
    return data


_ESCAPE: Final = re.compile(rb"\\([0-3][0-7][0-7]|\\)?")


def _unescape(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    if code is None:
        raise ValueError("invalid bytea escape sequence")
    if code == b"\\":
        return code
    return bytes((int(code, 8),))


def bytea_from_text(data: bytes) -> object:
    if data[:2] == b"\\x":
        return a2b_hex(data[2:])  # binascii.Error is a ValueError
    if b"\\" not in data:
        return data
    return _ESCAPE.sub(_unescape, data)


def bytea_to_binary(value: object) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"expected bytes, bytearray or memoryview, got {type_name(value)}")


def bytea_to_text(value: object) -> bytes:
    """The hex form byteain reads: \\x followed by two hex digits a byte."""
    return b"\\x" + bytea_to_binary(value).hex().encode()
