"""Codecs for bool, uuid and void."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final
from uuid import UUID, SafeUUID

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


# UUID.__init__ weighs every way a UUID can be given; filling the two slots directly takes half the time.
# _fast_uuid is checked against UUID() at import and dropped for the plain constructor if they ever differ.
_new_object = object.__new__
_set_slot = object.__setattr__
_UNKNOWN_SAFETY: Final = SafeUUID.unknown


def _fast_uuid(number: int) -> UUID:
    uuid = _new_object(UUID)
    _set_slot(uuid, "int", number)
    _set_slot(uuid, "is_safe", _UNKNOWN_SAFETY)
    return uuid


def _plain_uuid(number: int) -> UUID:
    return UUID(int=number)


def _pick_uuid_factory() -> Callable[[int], UUID]:
    sample = UUID("12345678-9abc-4def-8123-456789abcdef")
    try:
        fast = _fast_uuid(sample.int)
        same = fast == sample and str(fast) == str(sample) and hash(fast) == hash(sample)
        if same and fast.is_safe is sample.is_safe:
            return _fast_uuid
    except (TypeError, AttributeError):
        pass
    return _plain_uuid


_make_uuid: Final = _pick_uuid_factory()
_from_bytes = int.from_bytes


def uuid_from_binary(data: bytes) -> object:
    if len(data) != 16:
        raise ValueError(f"uuid must be 16 bytes, got {len(data)}")
    return _make_uuid(_from_bytes(data, "big"))


def uuid_from_text(data: bytes) -> object:
    # uuid_out always prints the 8-4-4-4-12 form.
    digits = data.replace(b"-", b"")
    if len(data) != 36 or len(digits) != 32:
        raise ValueError(f"invalid uuid {data[:40]!r}")
    return _make_uuid(int(digits, 16))


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
