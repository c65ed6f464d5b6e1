"""`python -m bench` still runs: every workload, tiny sizes, the pgproto drivers only. Never about timings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench import floor, instructions
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
    expected |= {"trio-socket", "pgproto_anyio-trio"}  # trio is a test dependency; pg8000 and asyncpg are not
    assert expected <= set(results)
    assert all(len(samples) == 1 and samples[0][0] > 0 for samples in results.values())


def test_instruction_totals_are_read_from_valgrinds_summary() -> None:
    assert instructions.instructions_total("==12== \n==12== I   refs:      1,339,357,186\n") == 1_339_357_186
    assert instructions.instructions_total("==7== Collected : 4200\n==7== \n==7== I refs: 4,200\n") == 4200
    with pytest.raises(ValueError, match="no instruction count"):
        instructions.instructions_total("valgrind: command not found")


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed: the command says so itself")
def test_instruction_benchmark_runs(pg_server: Server) -> None:
    args = ["--dsn", pg_server.dsn(), "--workloads", "rtt", "--drivers", "pgproto_sync", "--items", "200"]
    results = instructions.main(args)
    # 200 queries more is far above the start-up's own variation; any SELECT 1 takes over 10k instructions.
    assert set(results) == {("rtt", "pgproto_sync")} and results[("rtt", "pgproto_sync")] > 10_000
