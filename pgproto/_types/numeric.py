"""Codecs for int2, int4, int8, oid (and xid, cid), float4, float8 and numeric.

Decoders raise only ValueError, struct.error, IndexError or OverflowError; encoders only TypeError or ValueError.
"""

from __future__ import annotations

import operator
import struct
from decimal import Decimal, DecimalException
from typing import Final, SupportsIndex

from ._common import F32, F64, I16, I32, I64, U32, Encoder, type_name

# --- integers -----------------------------------------------------------------------------------------------

_unpack_i16 = I16.unpack
_unpack_i32 = I32.unpack
_unpack_i64 = I64.unpack
_unpack_u32 = U32.unpack


def int2_from_binary(data: bytes) -> object:
    return _unpack_i16(data)[0]


def int4_from_binary(data: bytes) -> object:
    return _unpack_i32(data)[0]


def int8_from_binary(data: bytes) -> object:
    return _unpack_i64(data)[0]


def oid_from_binary(data: bytes) -> object:
    return _unpack_u32(data)[0]


#: int() accepts the ASCII digits the server prints, as bytes, with no decode step.
int_from_text: Final = int


def as_int(value: object) -> int:
    """The value as an int: any integer type but bool (asyncpg accepts bool; we refuse it as a likely bug).

    Raises:
        TypeError: the value is not an integer (a float, Decimal or str is not silently truncated or parsed).
    """
    if type(value) is int:
        return value
    if isinstance(value, SupportsIndex) and not isinstance(value, bool):
        return operator.index(value)  # int subclasses, numpy integers and the like
    raise TypeError(f"expected int, got {type_name(value)}")


def _int_encoder(type_name_: str, pack: struct.Struct) -> Encoder:
    bits = pack.size * 8
    if pack.format.endswith("I"):
        low, high = 0, 2**bits - 1
    else:
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    pack_ = pack.pack

    def encode(value: object) -> bytes:
        number = value if type(value) is int else as_int(value)
        if low <= number <= high:
            return pack_(number)
        raise ValueError(f"{type_name_} value out of range: {number!r} (expected {low}..{high})")

    encode.__name__ = f"{type_name_}_to_binary"
    return encode


int2_to_binary: Final = _int_encoder("int2", I16)
int4_to_binary: Final = _int_encoder("int4", I32)
int8_to_binary: Final = _int_encoder("int8", I64)
oid_to_binary: Final = _int_encoder("oid", U32)

# --- floats -------------------------------------------------------------------------------------------------

_unpack_f32 = F32.unpack
_unpack_f64 = F64.unpack
_pack_f32 = F32.pack
_pack_f64 = F64.pack


def float4_from_binary(data: bytes) -> object:
    return _unpack_f32(data)[0]


def float8_from_binary(data: bytes) -> object:
    return _unpack_f64(data)[0]


#: float() accepts b"1.5", b"NaN", b"Infinity" and b"-Infinity" as the server prints them.
float8_from_text: Final = float


def float4_from_text(data: bytes) -> object:
    """Round to float32 so text gives the same Python float as binary (and as asyncpg): 1.1 -> 1.100000023841858."""
    return _unpack_f32(_pack_f32(float(data)))[0]


def as_float(value: object) -> float:
    """The value as a float: float, int or Decimal; not bool, not str.

    Raises:
        TypeError: another type.
        ValueError: an int too large for a float, or a signaling NaN.
    """
    if type(value) is float:
        return value
    if isinstance(value, (float, int, Decimal)) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise ValueError(f"value out of float range: {value!r}") from None
    raise TypeError(f"expected float, got {type_name(value)}")


def float4_to_binary(value: object) -> bytes:
    number = as_float(value)
    try:
        return _pack_f32(number)
    except OverflowError:
        raise ValueError(f"float4 value out of range: {value!r}") from None


def float8_to_binary(value: object) -> bytes:
    return _pack_f64(value if type(value) is float else as_float(value))


# --- numeric ------------------------------------------------------------------------------------------------
# Binary layout (numeric.c, numeric_send): int16 ndigits, int16 weight, uint16 sign, uint16 dscale, then ndigits
# base-10000 digits; value = sum(digit[i] * 10000 ** (weight - i)), shown with dscale digits after the point.

_NUMERIC_HEADER: Final = struct.Struct("!HhHH")
_NUMERIC_POS: Final = 0x0000
_NUMERIC_NEG: Final = 0x4000
_NUMERIC_NAN: Final = 0xC000
_NUMERIC_PINF: Final = 0xD000
_NUMERIC_NINF: Final = 0xF000
#: numeric.c: NUMERIC_DSCALE_MASK; numeric_recv rejects a larger display scale.
_NUMERIC_MAX_DSCALE: Final = 0x3FFF
_NAN: Final = Decimal("NaN")
_PINF: Final = Decimal("Infinity")
_NINF: Final = Decimal("-Infinity")
_SPECIALS: Final = {_NUMERIC_NAN: _NAN, _NUMERIC_PINF: _PINF, _NUMERIC_NINF: _NINF}


def numeric_from_text(data: bytes) -> object:
    try:
        return Decimal(data.decode())
    except DecimalException:
        # InvalidOperation and friends are ArithmeticError, which the core does not expect from a decoder.
        raise ValueError(f"invalid numeric {data[:40]!r}") from None


def numeric_from_binary(data: bytes) -> object:
    ndigits, weight, sign, dscale = _NUMERIC_HEADER.unpack_from(data)
    if sign != _NUMERIC_POS and sign != _NUMERIC_NEG:
        special = _SPECIALS.get(sign)
        if special is None:
            raise ValueError(f"invalid numeric sign 0x{sign:04x}")
        return special
    if dscale > _NUMERIC_MAX_DSCALE:
        raise ValueError(f"invalid numeric display scale {dscale}")
    if len(data) != 8 + 2 * ndigits:
        raise ValueError(f"numeric has {len(data)} bytes but declares {ndigits} digits")
    digits = struct.unpack_from(f"!{ndigits}H", data, 8)
    if ndigits and max(digits) > 9999:
        raise ValueError(f"invalid numeric digit {max(digits)}")
    text = ("%04d" * ndigits) % digits
    # The digits stand for text * 10**exponent; re-express them with exactly dscale fractional digits, as
    # numeric_out prints them (trailing base-10000 zeros are cut, display zeros are added back).
    exponent = (weight + 1 - ndigits) * 4
    if exponent < -dscale:
        text = text[: max(0, len(text) - (-dscale - exponent))]
    elif exponent > -dscale:
        text += "0" * (exponent + dscale)
    return Decimal(f"{'-' if sign else ''}{text or '0'}E-{dscale}")


def as_decimal(value: object) -> Decimal:
    """The value as a Decimal: Decimal, int, or float (through its shortest repr, so 0.1 stays 0.1).

    Raises:
        TypeError: another type (bool and str included).
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    raise TypeError(f"expected Decimal, int or float, got {type_name(value)}")


_BINARY_NAN: Final = _NUMERIC_HEADER.pack(0, 0, _NUMERIC_NAN, 0)
_BINARY_PINF: Final = _NUMERIC_HEADER.pack(0, 0, _NUMERIC_PINF, 0)
_BINARY_NINF: Final = _NUMERIC_HEADER.pack(0, 0, _NUMERIC_NINF, 0)


def numeric_to_binary(value: object) -> bytes:
    """Encode as numeric_recv expects it.

    Raises:
        TypeError: not a Decimal, int or float.
        ValueError: the exponent is beyond what numeric can store.
    """
    sign, digit_tuple, exponent = as_decimal(value).as_tuple()
    if not isinstance(exponent, int):  # "n" / "N" for (signaling) NaN, "F" for infinity
        if exponent == "F":
            return _BINARY_NINF if sign else _BINARY_PINF
        return _BINARY_NAN
    dscale = -exponent if exponent < 0 else 0
    if dscale > _NUMERIC_MAX_DSCALE:
        raise ValueError(f"numeric value has too many digits after the decimal point: {value!r}")
    # Align the decimal digits on base-10000 groups: pad on the right to an exponent that is a multiple of 4,
    # and on the left to a whole number of groups.
    pad_right = exponent % 4
    text = "".join(map(str, digit_tuple)) + "0" * pad_right
    text = "0" * (-len(text) % 4) + text
    groups = [int(text[i : i + 4]) for i in range(0, len(text), 4)]
    weight = len(groups) - 1 + (exponent - pad_right) // 4
    start, end = 0, len(groups)
    while start < end and groups[start] == 0:
        start += 1
        weight -= 1
    while end > start and groups[end - 1] == 0:
        end -= 1
    groups = groups[start:end]
    if not groups:
        return _NUMERIC_HEADER.pack(0, 0, _NUMERIC_POS, dscale)
    if not -0x8000 <= weight <= 0x7FFF:
        raise ValueError(f"numeric value out of range: {value!r}")
    header = _NUMERIC_HEADER.pack(len(groups), weight, _NUMERIC_NEG if sign else _NUMERIC_POS, dscale)
    return header + struct.pack(f"!{len(groups)}H", *groups)


def numeric_to_text(value: object) -> bytes:
    """Text form of a numeric value, as numeric_in reads it (Decimal's 1E+3 notation is accepted)."""
    number = as_decimal(value)
    if number.is_nan():
        return b"NaN"  # numeric_in knows no sNaN and no -NaN
    return str(number).encode()
