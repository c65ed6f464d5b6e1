"""`python -m bench`: start a throwaway server (the tests' harness), run every workload with every
driver, interleaved, and write the Markdown report.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import os
import platform
import sys
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

from .drivers import DRIVERS, REFERENCE
from .report import Measurements, render
from .workloads import FETCH_TABLE_SQL, SIZES, WORKLOADS

_HERE = Path(__file__).resolve().parent
_PACKAGES = ("pgproto", "anyio", "trio", "asyncpg", "psycopg", "psycopg-binary", "pg8000")


def _names(text: str, known: Sequence[str], what: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {what} {', '.join(unknown)}; known: {', '.join(known)}")
    return names


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="repetitions per workload (default 5)")
    parser.add_argument(
        "--workloads",
        type=lambda text: _names(text, WORKLOADS, "workload"),
        default=list(WORKLOADS),
        help=f"comma-separated, from {','.join(WORKLOADS)}",
    )
    parser.add_argument(
        "--drivers",
        type=lambda text: _names(text, list(DRIVERS), "driver"),
        default=list(DRIVERS),
        help=f"comma-separated, from {','.join(DRIVERS)}",
    )
    parser.add_argument("--items", type=int, default=None, help="items per workload instead of the defaults")
    parser.add_argument("--dsn", default=None, help="use this server instead of starting a throwaway one")
    parser.add_argument("--pg-version", type=int, default=15, help="the installation to start (default 15)")
    parser.add_argument("--output", type=Path, default=_HERE / "RESULTS.md", help="the Markdown report's path")
    parser.add_argument("--note", default="", help="a line for the report's environment table")
    return parser.parse_args(argv)


@contextlib.contextmanager
def _server(dsn: str | None, version: int) -> Iterator[str]:
    if dsn is not None:
        yield dsn
        return
    from tests.cluster import Cluster, find_installations

    installations = find_installations()
    if not installations:
        raise SystemExit("no PostgreSQL installation found (see tests/conftest.py); or pass --dsn")
    matching = [i for i in installations if i.version == version and i.source == "system"]
    matching += [i for i in installations if i.version == version]
    installation = (matching or installations)[0]
    print(f"starting PostgreSQL {installation.version} from {installation.bindir}", file=sys.stderr)
    with Cluster(installation) as cluster:
        yield cluster.dsn()


def _prepare(dsn: str, rows: int) -> str:
    """Create the tables the workloads read and write; the server's version string."""
    import pgproto_sync

    with pgproto_sync.connect(dsn) as conn:
        conn.execute(FETCH_TABLE_SQL.format(rows=max(rows, 1)))
        conn.execute("VACUUM ANALYZE bench_fetch")
        return str(conn.fetchval("SELECT version()"))


def _versions() -> str:
    found = []
    for name in _PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    with contextlib.suppress(ImportError):
        import psycopg

        found.append(f"(psycopg implementation: {psycopg.pq.__impl__})")
    return ", ".join(found)


def _cpu() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}"


def _load() -> str:
    with contextlib.suppress(OSError):
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return "unknown"


def run(dsn: str, workloads: Sequence[str], drivers: Sequence[str], sizes: dict[str, int], repeat: int) -> Measurements:
    """Every workload with every driver, `repeat` times; the drivers' order rotates per repetition."""
    m = Measurements()
    for rep in range(repeat):
        for workload in workloads:
            n = sizes[workload]
            order = list(drivers[rep % len(drivers) :]) + list(drivers[: rep % len(drivers)])
            for driver in order:
                if (workload, driver) in m.failures:
                    continue
                try:
                    timing = DRIVERS[driver](workload, dsn, n)
                except Exception as exc:
                    traceback.print_exc()
                    m.failures[(workload, driver)] = f"{type(exc).__name__}: {exc}"[:200]
                    continue
                m.add(workload, driver, timing.wall / n, timing.cpu / n)
                print(
                    f"rep {rep + 1}/{repeat} {workload:<12} {driver:<22} {timing.wall / n * 1e6:9.2f} µs/item"
                    f" (client CPU {timing.cpu / n * 1e6:.2f})",
                    file=sys.stderr,
                )
    return m


def main(argv: Sequence[str] | None = None) -> Measurements:
    args = parse_args(argv)
    sizes = {name: args.items or size for name, size in SIZES.items()}
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = _load()
    with _server(args.dsn, args.pg_version) as dsn:
        server_version = _prepare(dsn, sizes["fetch"])
        m = run(dsn, args.workloads, args.drivers, sizes, args.repeat)
    environment = [
        ("date", started.strftime("%Y-%m-%d %H:%M UTC")),
        ("machine", _cpu()),
        ("load average (1, 5, 15 min) before / after", f"{load_before} / {_load()}"),
        ("python", f"{platform.python_implementation()} {platform.python_version()} on {platform.platform()}"),
        ("server", server_version + (" (given by --dsn)" if args.dsn else ", throwaway cluster over loopback TCP")),
        ("packages", _versions()),
    ]
    if args.note:
        environment.append(("note", args.note))
    analysis_path = _HERE / "ANALYSIS.md"
    analysis = analysis_path.read_text() if analysis_path.exists() else ""
    text = render(
        m,
        workloads=args.workloads,
        drivers=args.drivers,
        reference=REFERENCE,
        sizes=sizes,
        repeat=args.repeat,
        environment=environment,
        analysis=analysis,
    )
    args.output.write_text(text)
    print(f"wrote {args.output}", file=sys.stderr)
    return m
