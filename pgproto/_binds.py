"""BindPlan: a prepared statement's whole Bind message from one row of arguments, planned once.

Like the row plans (`_rows.py`), a small function written for the statement's parameter count and
compiled once: it encodes every argument and frames the Bind in straight-line code, with the message's
fixed parts (names, formats, parameter count, result formats) joined in ahead of time. It handles the
common case only: a wrong argument count, a value an encoder refuses or one too large for the protocol
makes it return None, and the client's careful path (`_encode_args`, `_frontend.bind_values`) encodes
the row again and says what is wrong. The generated text depends only on the parameter count and on which
parameters are binary integers (packed with their length word in one struct call, no encoder call).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Sequence

from ._types import Encoder, numeric

#: Statements with more parameters than this are bound by the careful path alone (long generated code).
MAX_PLANNED_PARAMETERS = 64

BindEncoder = Callable[[tuple[object, ...]], "bytes | None"]

_I32 = struct.Struct("!i").pack
_HEADER = struct.Struct("!ci").pack
_NULL = b"\xff\xff\xff\xff"
#: The binary integer encoders, by their value's width: an int argument is packed with its length word by
#: one struct call (out of range, struct.error sends the row to the careful path, which names the problem).
_INT_WIDTHS: dict[Encoder, int] = {numeric.int2_to_binary: 2, numeric.int4_to_binary: 4, numeric.int8_to_binary: 8}
_WITH_LENGTH = {2: struct.Struct("!ih").pack, 4: struct.Struct("!ii").pack, 8: struct.Struct("!iq").pack}


def plan_bind(head: bytes, encoders: Sequence[Encoder], tail: bytes) -> BindEncoder | None:
    """The Bind encoder for a statement whose Bind starts with `head` (up to and including the parameter
    count) and ends with `tail` (the result formats); None when it has too many parameters to plan."""
    count = len(encoders)
    if count > MAX_PLANNED_PARAMETERS:
        return None
    namespace: dict[str, object] = {
        "HEAD": head,
        "TAIL": tail,
        "NULL": _NULL,
        "I32": _I32,
        "HEADER": _HEADER,
        **{f"e{i}": encode for i, encode in enumerate(encoders)},
        **{f"w{width}": pack for width, pack in _WITH_LENGTH.items()},
    }
    # The code is written by _source from the parameter count and integer widths alone.
    widths = tuple(_INT_WIDTHS.get(encode, 0) for encode in encoders)
    exec(compile(_source(widths), "<pgproto bind plan>", "exec"), namespace)
    bind: BindEncoder = namespace["bind"]  # type: ignore[assignment]
    return bind


@functools.cache
def _source(widths: tuple[int, ...]) -> str:
    """One parameter per width: an integer's (2, 4 or 8 bytes), or 0 for any other type."""
    count = len(widths)
    lines = ["def bind(args):", "    try:"]
    if count == 0:
        lines += ["        if args:", "            return None", "        body = HEAD + TAIL"]
    else:
        names = ", ".join(f"a{i}" for i in range(count))
        lines.append(f"        ({names},) = args")
        for i, width in enumerate(widths):
            test = "if"
            if width:
                lines += [f"        if type(a{i}) is int:", f"            p{i} = w{width}({width}, a{i})"]
                test = "elif"
            lines += [
                f"        {test} a{i} is None:",
                f"            p{i} = NULL",
                "        else:",
                f"            v = e{i}(a{i})",
                f"            p{i} = I32(len(v)) + v",
            ]
        lines.append("        body = HEAD + " + " + ".join(f"p{i}" for i in range(count)) + " + TAIL")
    lines += [
        "        return HEADER(b'B', len(body) + 4) + body",
        "    except Exception:",
        "        return None",
    ]
    return "\n".join(lines) + "\n"
