"""`python -m bench.instructions`: the client's instructions per item, counted by valgrind, per driver and workload.

The wall clock on a shared machine moves by a third from one minute to the next; the number of instructions
the client process executes does not. Each cell runs the workload in a child Python under valgrind's callgrind
tool twice, with N and 2N items, and reports (count(2N) - count(N)) / N: connecting, start-up and the warm-up
drop out, what is left is the cost of one more item. Only the client is counted (the server is another
process). Needs `valgrind` on PATH; slow (about 50 times slower than the workload itself).

    python -m bench.instructions [--dsn DSN] [--workloads rtt,notify] [--drivers pgproto_sync,pg8000] [--items 2000]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .drivers import DRIVERS
from .suite import _names, _prepare, _server
from .workloads import WORKLOADS

_ROOT = Path(__file__).resolve().parent.parent
_DEFAULT_WORKLOADS = ("rtt", "notify", "notices")
_DEFAULT_DRIVERS = ("pgproto_sync", "pgproto_anyio-asyncio", "pgproto_anyio-trio", "asyncpg", "pg8000")
#: The child: run one workload, as `python -m bench` times it, with the items given.
_CHILD = "import sys\nfrom bench.drivers import DRIVERS\nDRIVERS[sys.argv[1]](*sys.argv[2:4], int(sys.argv[4]))\n"
_TOTAL = re.compile(r"(?:Collected|I\s+refs)\s*:\s*([\d,]+)")


def instructions_total(valgrind_output: str) -> int:
    """The instruction count in callgrind's summary (its `I refs` or `Collected` line)."""
    found = _TOTAL.findall(valgrind_output)
    if not found:
        raise ValueError(f"no instruction count in valgrind's output: {valgrind_output[-500:]!r}")
    return int(found[-1].replace(",", ""))


def count(driver: str, workload: str, dsn: str, items: int) -> int:
    """Instructions the client executes running `workload` with `items` items on `driver`, start-up included."""
    path = os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": path}  # the same hash seed: the same work
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", _CHILD]
    result = subprocess.run(
        [*command, driver, workload, dsn, str(items)], env=env, capture_output=True, text=True, timeout=1800
    )
    if result.returncode != 0:
        raise RuntimeError(f"{driver} {workload} failed under valgrind: {result.stderr[-1000:]}")
    return instructions_total(result.stderr)


def per_item(driver: str, workload: str, dsn: str, items: int) -> float:
    """Instructions per item: the difference between runs of 2 * `items` and `items`, over `items`."""
    return (count(driver, workload, dsn, 2 * items) - count(driver, workload, dsn, items)) / items


def main(argv: Sequence[str] | None = None) -> dict[tuple[str, str], float]:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument(
        "--workloads", type=lambda t: _names(t, WORKLOADS, "workload"), default=list(_DEFAULT_WORKLOADS)
    )
    parser.add_argument(
        "--drivers", type=lambda t: _names(t, list(DRIVERS), "driver"), default=list(_DEFAULT_DRIVERS)
    )
    parser.add_argument("--items", type=int, default=2000, help="N: each cell runs N and 2N items (default 2000)")
    parser.add_argument("--dsn", default=None, help="use this server instead of starting a throwaway one")
    parser.add_argument("--pg-version", type=int, default=15, help="the installation to start (default 15)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not on PATH (e.g. apt-get install valgrind)")
    results: dict[tuple[str, str], float] = {}
    with _server(args.dsn, args.pg_version) as dsn:
        _prepare(dsn, 2 * args.items)
        for workload in args.workloads:
            for driver in args.drivers:
                results[(workload, driver)] = per_item(driver, workload, dsn, args.items)
                print(f"{workload:<12} {driver:<22} {results[(workload, driver)] / 1000:8.1f}k", file=sys.stderr)
    print("| thousands of instructions per item | " + " | ".join(args.drivers) + " |")
    print("|---|" + "---|" * len(args.drivers))
    for workload in args.workloads:
        cells = [f"{results[(workload, driver)] / 1000:.1f}" for driver in args.drivers]
        print(f"| {workload} | " + " | ".join(cells) + " |")
    return results


if __name__ == "__main__":
    main()
