"""Codecs for bool, uuid and void."""

from __future__ import annotations

from uuid import UUID

from ._common import type_name

# --- bool -----------------------------------------------------------------------------------------------------


def bool_from_text(data: bytes) -> object:
    if data == b"t":
        return True
    if data == b"f":
        return False
    raise ValueError(f"invalid bool {data[:20]!r}")


def bool_from_binary(data: bytes) -> object:
    if data == b"\x01":
        return True
    if data == b"\x00":
        return False
    raise ValueError(f"invalid binary bool {data[:20]!r}")


def bool_to_binary(value: object) -> bytes:
    if value is True:
        return b"\x01"
    if value is False:
        return b"\x00"
    raise TypeError(f"expected bool, got {type_name(value)}")


def bool_to_text(value: object) -> bytes:
    return b"t" if bool_to_binary(value) == b"\x01" else b"f"


# --- uuid -----------------------------------------------------------------------------------------------------


def uuid_from_binary(data: bytes) -> object:
    return UUID(bytes=data)  # ValueError unless 16 bytes


def uuid_from_text(data: bytes) -> object:
    return UUID(data.decode())


def _as_uuid(value: object) -> UUID:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        return UUID(value)  # ValueError for a malformed string
    raise TypeError(f"expected uuid.UUID or str, got {type_name(value)}")


def uuid_to_binary(value: object) -> bytes:
    return _as_uuid(value).bytes


def uuid_to_text(value: object) -> bytes:
    return str(_as_uuid(value)).encode()


# --- void -----------------------------------------------------------------------------------------------------


def void_from_bytes(data: bytes) -> object:
    """A function returning void gives '' (text) or no bytes (binary); asyncpg returns None."""
    return None
