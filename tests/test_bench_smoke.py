"""`python -m bench` still runs: every workload, tiny sizes, the pgproto drivers only. Never about timings."""

from __future__ import annotations

from pathlib import Path

from bench import floor
from bench.drivers import PGPROTO_DRIVERS
from bench.parser import SCENARIOS, measure
from bench.suite import main
from bench.workloads import WORKLOADS
from tests.cluster import Server


def test_bench_runs_every_workload(pg_server: Server, tmp_path: Path) -> None:
    output = tmp_path / "RESULTS.md"
    drivers = ",".join(PGPROTO_DRIVERS)
    args = ["--dsn", pg_server.dsn(), "--items", "50", "--repeat", "1", "--drivers", drivers]
    m = main([*args, "--output", str(output)])
    assert m.failures == {}
    for workload in WORKLOADS:
        assert sorted(m.per_item[workload]) == sorted(PGPROTO_DRIVERS)
        assert sorted(m.cpu_per_item[workload]) == sorted(PGPROTO_DRIVERS)  # the client's CPU, measured too
    text = output.read_text()
    assert all(f"### {workload}:" in text for workload in WORKLOADS)
    assert "### Client CPU: ratio to asyncpg" in text


def test_parser_benchmark_runs() -> None:
    for name in SCENARIOS:
        per_item, items = measure(name, repeat=1, n=20)
        assert items == 20 and per_item > 0


def test_floor_benchmark_runs(pg_server: Server) -> None:
    results = floor.main(["--dsn", pg_server.dsn(), "--queries", "20", "--repeat", "1"])
    expected = {"socket", "core", "pgproto_sync", "asyncio-socket", "asyncio-core", "pgproto_anyio"}
    assert expected <= set(results)
    assert all(len(samples) == 1 and samples[0][0] > 0 for samples in results.values())
