"""RowPlan: how to decode the DataRows of one result, worked out once from its RowDescription.

The plan is a small Python function written for the result's column types and compiled once (then
cached by column types): straight-line code, one local per value, and consecutive fixed-width binary
columns (integers, floats, bool, timestamptz) unpacked, length words and values, by one struct call.
The generated text depends only on the types' struct codes and the column positions, never on a name
or any other server-supplied text. The function reads well-formed rows only: anything unusual (a NULL
in a fixed-width run, a length that does not fit, a value its decoder refuses) makes it return None,
and the client's careful path (`_client._decode_row`) decodes the row or says what is wrong.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Sequence
from typing import Final

from ._types import Decoder, FixedBinary

#: Rows wider than this are decoded by the careful path alone (the generated code would be long).
MAX_PLANNED_COLUMNS: Final = 256
#: What a value decoder raises for bytes it cannot decode (the careful path reports it).
_DECODE_ERRORS: Final = (ValueError, ArithmeticError, IndexError, struct.error)

RowDecoder = Callable[[bytes, int, int], "tuple[object, ...] | None"]


class RowPlan:
    """The decoding plan of one result's rows.

    `decode(data, p, stop)` gives the values of the DataRow whose first length word is at `data[p]` and
    which ends at `stop`, or None when the row is not the well-formed common case. `source` is the
    generated code, for reading when debugging.

    Args:
        decoders: each column's decoder.
        fixed: for each column, its fixed-width binary form (`pgproto._types.fixed_binary`), or None
            when it has none or is sent as text.
    """

    __slots__ = ("decode", "source", "width")

    def __init__(self, decoders: Sequence[Decoder], fixed: Sequence[FixedBinary | None]) -> None:
        self.width = len(decoders)
        if self.width > MAX_PLANNED_COLUMNS:
            self.decode: RowDecoder = _not_planned
            self.source = ""
        else:
            self.decode, self.source = _compiled(tuple(zip(decoders, fixed)))


def _not_planned(data: bytes, p: int, stop: int) -> tuple[object, ...] | None:
    return None


@functools.lru_cache(maxsize=256)
def _compiled(columns: tuple[tuple[Decoder, FixedBinary | None], ...]) -> tuple[RowDecoder, str]:
    """The row decoder for columns of these decoders and fixed-width forms, and its source."""
    namespace: dict[str, object] = {"_I32": struct.Struct("!i").unpack_from, "_DECODE_ERRORS": _DECODE_ERRORS}
    body: list[str] = []
    i = 0
    length_read = False  # the length word of column i is in `n` already, read with the fixed run before it
    while i < len(columns):
        if columns[i][1] is None:
            namespace[f"d{i}"] = columns[i][0]
            if not length_read:
                body += ["if p + 4 > stop: return None", "(n,) = _I32(data, p)", "p += 4"]
            length_read = False
            body += [
                "if n == -1:",
                f"    v{i} = None",
                "else:",
                "    end = p + n",
                "    if n < 0 or end > stop: return None",
                f"    v{i} = d{i}(data[p:end])",
                "    p = end",
            ]
            i += 1
            continue
        run = []  # consecutive fixed-width columns: i, i+1, ...
        while i < len(columns) and (form := columns[i][1]) is not None:
            run.append((i, form))
            i += 1
        # A variable-width column next: its length word comes with the run, in the same struct call.
        length_read = i < len(columns)
        layout = struct.Struct("!" + "".join("i" + code for _, (code, _) in run) + ("i" if length_read else ""))
        first = run[0][0]
        namespace[f"s{first}"] = layout.unpack_from
        # No NULL (-1), and each value exactly as wide as its type.
        unusual = " or ".join(f"n{k} != {struct.calcsize('!' + code)}" for k, (code, _) in run)
        targets = ", ".join([*(f"n{k}, v{k}" for k, _ in run), *(["n"] if length_read else [])])
        body += [
            f"if p + {layout.size} > stop: return None",
            f"{targets} = s{first}(data, p)",
            f"if {unusual}: return None",
            f"p += {layout.size}",
        ]
        for k, (_, convert) in run:
            if convert is not None:
                namespace[f"c{k}"] = convert
                body.append(f"v{k} = c{k}(v{k})")
    values = "".join(f"v{k}, " for k in range(len(columns)))
    source = "\n".join(
        [
            "def decode(data, p, stop):",
            "    try:",
            *(f"        {line}" for line in body or ["pass"]),
            "    except _DECODE_ERRORS:",
            "        return None  # the careful path raises it again, naming the column",
            f"    return ({values}) if p == stop else None",
        ]
    )
    exec(compile(source, "<pgproto row plan>", "exec"), namespace)
    return namespace["decode"], source  # type: ignore[return-value]  # defined by the exec just above
