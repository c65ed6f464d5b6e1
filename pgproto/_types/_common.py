"""Names shared by the codec families: the Decoder / Encoder shapes, format codes and precompiled structs.

Holds no codec of its own and imports nothing from the families, so every family can import it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, Final

#: Turns the bytes of one non-NULL column value into a Python value.
Decoder = Callable[[bytes], object]
#: Turns one non-None Python value into the bytes of a parameter.
Encoder = Callable[[object], bytes]

#: A fixed-width binary form: its struct code, and what turns the unpacked number into the Python value
#: (None when the number is the value).
FixedBinary = tuple[str, Callable[[Any], object] | None]

#: Format code of the text representation (protocol docs, "Formats and Format Codes").
TEXT_FORMAT: Final = 0
#: Format code of the binary representation (the type's typsend / typreceive functions).
BINARY_FORMAT: Final = 1

I16: Final = struct.Struct("!h")
U16: Final = struct.Struct("!H")
I32: Final = struct.Struct("!i")
U32: Final = struct.Struct("!I")
I64: Final = struct.Struct("!q")
F32: Final = struct.Struct("!f")
F64: Final = struct.Struct("!d")

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


def type_name(value: object) -> str:
    """The name used in "expected X, got Y" messages."""
    return type(value).__name__
