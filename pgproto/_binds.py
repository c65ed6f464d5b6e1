"""BindPlan: a prepared statement's whole Bind message from one row of arguments, planned once.

Like the row plans (`_rows.py`), a small function written for the statement's parameter count and
compiled once: it encodes every argument and frames the Bind in straight-line code, with the message's
fixed parts (names, formats, parameter count, result formats) joined in ahead of time. It handles the
common case only: a wrong argument count, a value an encoder refuses or one too large for the protocol
makes it return None, and the client's careful path (`_encode_args`, `_frontend.bind_values`) encodes
the row again and says what is wrong. The generated text depends only on the parameter count.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Sequence

from ._types import Encoder

#: Statements with more parameters than this are bound by the careful path alone (long generated code).
MAX_PLANNED_PARAMETERS = 64

BindEncoder = Callable[[tuple[object, ...]], "bytes | None"]

_I32 = struct.Struct("!i").pack
_HEADER = struct.Struct("!ci").pack
_NULL = b"\xff\xff\xff\xff"


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
    }
    # The code is written by _source from the parameter count alone.
    exec(compile(_source(count), "<pgproto bind plan>", "exec"), namespace)
    bind: BindEncoder = namespace["bind"]  # type: ignore[assignment]
    return bind


@functools.cache
def _source(count: int) -> str:
    lines = ["def bind(args):", "    try:"]
    if count == 0:
        lines += ["        if args:", "            return None", "        body = HEAD + TAIL"]
    else:
        names = ", ".join(f"a{i}" for i in range(count))
        lines.append(f"        ({names},) = args")
        for i in range(count):
            lines += [
                f"        if a{i} is None:",
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
