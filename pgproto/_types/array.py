"""Array codecs built from an element codec: binary (array_send / array_recv) and text ('{...}' literals).

Arrays are (nested) lists and lower bounds are dropped, as in asyncpg. PostgreSQL allows at most 6 dimensions
(MAXDIM); deeper input is a ValueError, and nothing is allocated for a declared size before its bytes are seen.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Sequence
from typing import Final

from ._common import I32, Decoder, Encoder, type_name

#: utils/array.h: MAXDIM.
MAX_DIMENSIONS: Final = 6

# Binary layout (arrayfuncs.c, array_send): int32 ndim, int32 has-null flag, uint32 element oid, ndim pairs of
# (int32 size, int32 lower bound), then each element as int32 length (-1 for NULL) and that many bytes.
_HEADER: Final = struct.Struct("!iiI")
_DIMENSIONS: Final = tuple(struct.Struct("!" + "ii" * n) for n in range(MAX_DIMENSIONS + 1))
_NULL: Final = b"\xff\xff\xff\xff"
_unpack_i32_from = I32.unpack_from
_pack_i32 = I32.pack


def _nest(flat: list[object], sizes: Sequence[int]) -> list[object]:
    """Cut a flat list into nested lists of the given sizes (outermost first); sizes are all > 0."""
    for size in reversed(sizes[1:]):
        flat = [flat[start : start + size] for start in range(0, len(flat), size)]
    return flat


def _binary_elements(data: bytes, offset: int, count: int, element: Decoder) -> list[object]:
    values: list[object] = []
    append = values.append
    unpack_from = _unpack_i32_from
    end_of_data = len(data)
    for _ in range(count):  # every turn consumes at least 4 bytes or fails, so data bounds the loop
        start = offset + 4
        offset = start + unpack_from(data, offset)[0]
        if offset >= start:
            if offset > end_of_data:
                raise ValueError(f"array element of {offset - start} bytes runs past the end of the value")
            append(element(data[start:offset]))
        elif offset == start - 1:  # length -1: NULL
            offset = start
            append(None)
        else:
            raise ValueError(f"invalid array element length {offset - start}")
    if offset != end_of_data:
        raise ValueError(f"{end_of_data - offset} bytes left after the last array element")
    return values


#: Fixed-width elements are unpacked this many (length, value) pairs at a time: a format per array size would fill
#: struct's cache with compiled formats as long as the arrays.
_CHUNK: Final = 64


def _fixed_width_values(pair: str) -> Callable[[bytes, int, int], list[object] | None]:
    """For an element struct code, a function unpacking count (length, value) pairs from data at offset, or
    returning None when a length is not the element's width (a NULL, or not what it seemed)."""
    chunk = struct.Struct("!" + pair * _CHUNK)
    tails = [struct.Struct("!" + pair * size) for size in range(_CHUNK)]
    width = struct.calcsize("!" + pair) - 4

    def unpack(data: bytes, offset: int, count: int) -> list[object] | None:
        values: list[object] = []
        full, rest = divmod(count, _CHUNK)
        for _ in range(full):
            pairs = chunk.unpack_from(data, offset)
            if pairs[0::2].count(width) != _CHUNK:
                return None
            values += pairs[1::2]
            offset += chunk.size
        pairs = tails[rest].unpack_from(data, offset)
        if pairs[0::2].count(width) != rest:
            return None
        values += pairs[1::2]
        return values

    return unpack


def binary_array_decoder(element_oid: int, element: Decoder, fixed: str | None = None) -> Decoder:
    """Decoder for the binary form of an array of element_oid.

    Args:
        fixed: for an element of fixed width whose struct value is already the Python value (int, float), its
            struct code ("h", "i", "q", "I", "f", "d"): arrays without NULLs then decode with struct alone.
    """
    record_size = struct.calcsize("!i" + fixed) if fixed else 0
    unpack_fixed = _fixed_width_values("i" + fixed) if fixed else None

    def decode(data: bytes) -> object:
        dimensions, _has_null, oid = _HEADER.unpack_from(data)
        if oid != element_oid:
            raise ValueError(f"array of element type {oid} where {element_oid} was expected")
        if dimensions == 1:
            count: int = _unpack_i32_from(data, 12)[0]
            sizes: Sequence[int] = ()
            if count < 0:
                raise ValueError(f"invalid array dimension size {count}")
        elif dimensions == 0:
            return []
        elif 1 < dimensions <= MAX_DIMENSIONS:
            sizes = _DIMENSIONS[dimensions].unpack_from(data, 12)[0::2]
            count = 1
            for size in sizes:
                if size < 0:
                    raise ValueError(f"invalid array dimension size {size}")
                count *= size
        else:
            raise ValueError(f"array has {dimensions} dimensions, at most {MAX_DIMENSIONS} are allowed")
        offset = 12 + 8 * dimensions
        remaining = len(data) - offset
        if count * 4 > remaining:  # each element takes at least its 4-byte length
            raise ValueError(f"array declares {count} elements but has {remaining} bytes for them")
        values: list[object] | None = None
        if unpack_fixed is not None and remaining == count * record_size:
            values = unpack_fixed(data, offset, count)  # None if it holds NULLs: a NULL is shorter than a value
        if values is None:
            values = _binary_elements(data, offset, count, element)
        return _nest(values, sizes) if sizes and count else values

    return decode


# Text layout (arrayfuncs.c, array_out): '{a,b}' nested per dimension, optionally preceded by '[lo:hi]...=' when a
# lower bound is not 1. An element is quoted (with \" and \\ escapes) when it is empty, is NULL in any case, or
# holds a brace, comma, quote, backslash or white space; an unquoted NULL (written in upper case) is SQL NULL.
# The quoted-string patterns are "unrolled loops" (no nested quantifier), so a hostile value cannot make the
# regex engine backtrack exponentially.
#: A quoted token runs to its closing quote or, when there is none, to the end: one scan, however malformed.
_TOKENS: Final = re.compile(rb'[{},]|"[^"\\]*(?:\\.[^"\\]*)*"?|[^{},"\\\s]+|\s+|.', re.DOTALL)
_BOUNDS: Final = re.compile(rb"(?:\[[+-]?\d+:[+-]?\d+\]){1,6}=")
_SPACE: Final = frozenset(b" \t\n\r\v\f")
#: One dimension, nothing quoted or escaped: a plain split on commas finds the elements.
_PLAIN: Final = re.compile(rb'\{[^{}"\\]*\}')
#: One dimension, some elements quoted: the whole literal is checked by one match, the elements found by another.
_ONE_DIMENSION: Final = re.compile(
    rb'\{(?:(?:"[^"\\]*(?:\\.[^"\\]*)*"|[^{},"\\\s]+)(?:,(?:"[^"\\]*(?:\\.[^"\\]*)*"|[^{},"\\\s]+))*)?\}', re.DOTALL
)
#: (quoted, plain) per element; a quoted "" gives (b"", b"") since a plain element is never empty.
_ELEMENTS: Final = re.compile(rb'"([^"\\]*(?:\\.[^"\\]*)*)"|([^,]+)', re.DOTALL)
_OPEN, _CLOSE, _COMMA, _QUOTE = b'{},"'


def _unescape(raw: bytes) -> bytes:
    """Drop each escaping backslash (re.sub with a template costs over a microsecond a call)."""
    parts = []
    start = 0
    while (backslash := raw.find(b"\\", start)) >= 0:
        parts.append(raw[start:backslash])
        parts.append(raw[backslash + 1 : backslash + 2])
        start = backslash + 2
    parts.append(raw[start:])
    return b"".join(parts)


def _parse_text_array(data: bytes, element: Decoder) -> list[object]:
    """The general parser: nesting, quoting, escapes, bounds decoration. No recursion; depth is capped."""
    position = 0
    if data[:1] == b"[":
        bounds = _BOUNDS.match(data)
        if bounds is None:
            raise ValueError(f"invalid array bounds in {data[:40]!r}")
        position = bounds.end()
    if data[position : position + 1] != b"{":
        raise ValueError(f"array literal does not start with '{{': {data[:40]!r}")
    tokens = _TOKENS.findall(data, position + 1)
    root: list[object] = []
    stack = [root]
    expect_element = may_close = True
    for index, token in enumerate(tokens):
        first = token[0]
        if first == _OPEN and expect_element:
            if len(stack) == MAX_DIMENSIONS:
                raise ValueError(f"array literal has more than {MAX_DIMENSIONS} dimensions")
            child: list[object] = []
            stack[-1].append(child)
            stack.append(child)
            may_close = True
        elif first == _CLOSE and may_close:
            stack.pop()
            if not stack:
                if index + 1 != len(tokens):
                    raise ValueError(f"unexpected bytes after array literal {data[:40]!r}")
                return root
            expect_element = False
        elif first == _COMMA and not expect_element:
            expect_element = True
            may_close = False
        elif first in _SPACE:
            pass
        elif first == _QUOTE and expect_element:
            raw = token[1:-1]
            if len(token) < 2 or token[-1] != _QUOTE or (len(raw) - len(raw.rstrip(b"\\"))) % 2:
                raise ValueError(f"unterminated quoted element in array literal {data[:40]!r}")
            stack[-1].append(element(_unescape(raw) if b"\\" in raw else raw))
            expect_element = False
            may_close = True
        elif expect_element and first != _OPEN and first != _CLOSE and first != _COMMA and first != _QUOTE:
            if first == 0x5C:  # a backslash outside quotes: the server never sends one
                raise ValueError(f"unexpected backslash in array literal {data[:40]!r}")
            stack[-1].append(None if token == b"NULL" else element(token))
            expect_element = False
            may_close = True
        else:
            raise ValueError(f"unexpected {token[:20]!r} in array literal {data[:40]!r}")
    raise ValueError(f"unterminated array literal {data[:40]!r}")


def text_array_decoder(element: Decoder) -> Decoder:
    """Decoder for the text form of an array whose elements decode with element (a text-format decoder)."""

    def decode(data: bytes) -> object:
        if _PLAIN.fullmatch(data) is None:
            if _ONE_DIMENSION.fullmatch(data) is None:
                return _parse_text_array(data, element)
            values: list[object] = []
            append = values.append
            for quoted, plain in _ELEMENTS.findall(data, 1, len(data) - 1):
                if plain:
                    append(None if plain == b"NULL" else element(plain))
                else:
                    append(element(_unescape(quoted) if b"\\" in quoted else quoted))
            return values
        if len(data) == 2:
            return []
        items = data[1:-1].split(b",")
        if b"" in items:  # the server quotes an empty string
            raise ValueError(f"empty unquoted element in array literal {data[:40]!r}")
        if b"NULL" in data:
            return [None if item == b"NULL" else element(item) for item in items]
        return list(map(element, items))

    return decode


# --- encoding -------------------------------------------------------------------------------------------------


def shape(value: Sequence[object]) -> tuple[list[int], list[object]]:
    """The dimension sizes of a (nested) list or tuple and its elements in row-major order.

    Raises:
        ValueError: sub-lists of one level differ in length, or there are more than 6 levels.
    """
    sizes: list[int] = []
    probe: object = value
    while isinstance(probe, (list, tuple)):
        if len(sizes) == MAX_DIMENSIONS:
            raise ValueError(f"array has more than {MAX_DIMENSIONS} dimensions")
        sizes.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    level: list[object] = [value]
    for depth, size in enumerate(sizes):
        below: list[object] = []
        for sub in level:
            if not isinstance(sub, (list, tuple)) or len(sub) != size:
                raise ValueError(
                    f"array is not rectangular: expected a list of {size} at depth {depth}, got {_brief(sub)}"
                )
            below.extend(sub)
        level = below
    return sizes, level


def _brief(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return f"a {type_name(value)} of {len(value)}"
    return f"{type_name(value)}"


def _element_error(index: int, item: object, exc: Exception) -> Exception:
    if isinstance(item, (list, tuple)):
        return ValueError(f"array is not rectangular: element {index} is a {type_name(item)}")
    message = f"array element {index}: {exc}"
    return TypeError(message) if isinstance(exc, TypeError) else ValueError(message)


def _as_sequence(value: object) -> Sequence[object]:
    if isinstance(value, (list, tuple)):
        return value
    raise TypeError(f"expected list or tuple, got {type_name(value)}")


def binary_array_encoder(element_oid: int, element: Encoder) -> Encoder:
    """Encoder of a (nested) list or tuple as the binary form of an array of element_oid (lower bounds 1)."""
    empty = _HEADER.pack(0, 0, element_oid)

    def encode(value: object) -> bytes:
        sizes, items = shape(_as_sequence(value))
        if not items:
            return empty
        parts = [b""]
        has_null = 0
        index = 0
        try:
            for index, item in enumerate(items):  # noqa: B007 - index is read in the handler
                if item is None:
                    parts.append(_NULL)
                    has_null = 1
                else:
                    data = element(item)
                    parts.append(_pack_i32(len(data)))
                    parts.append(data)
        except (TypeError, ValueError) as exc:
            raise _element_error(index, items[index], exc) from None
        dimensions = [number for size in sizes for number in (size, 1)]
        parts[0] = _HEADER.pack(len(sizes), has_null, element_oid) + _DIMENSIONS[len(sizes)].pack(*dimensions)
        return b"".join(parts)

    return encode


def _quote(text: bytes) -> bytes:
    return b'"' + text.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def array_literal(value: object, scalar: Callable[[object], bytes]) -> bytes:
    """The text form '{...}' of a (nested) list or tuple; scalar gives each non-None element's text form.

    Every element is quoted, which array_in reads for every element type; None becomes NULL.
    """
    sizes, items = shape(_as_sequence(value))
    if not items:
        return b"{}"
    texts: list[bytes] = []
    for index, item in enumerate(items):
        if item is None:
            texts.append(b"NULL")
            continue
        if isinstance(item, (list, tuple)):
            raise _element_error(index, item, ValueError())
        try:
            texts.append(_quote(scalar(item)))
        except (TypeError, ValueError) as exc:
            raise _element_error(index, item, exc) from None
    for size in reversed(sizes):
        texts = [b"{" + b",".join(texts[start : start + size]) + b"}" for start in range(0, len(texts), size)]
    return texts[0]
