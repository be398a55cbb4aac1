"""The overhead benchmark runs and reports its figures (timings are measured, never asserted)."""

from __future__ import annotations

from benchmarks.guard_overhead import measure_guard_overhead, measure_suite_overhead
from scenarios.databases import Database
from scenarios.guard import runtime


async def test_overhead_benchmark_reports_both_timings_and_restores_the_guard(
    database: Database,
) -> None:
    was_installed = runtime.installed()
    figures = await measure_guard_overhead(database.url, requests=3, repeats=1)
    assert set(figures) >= {"without_guard_s", "with_guard_s", "ratio", "overhead_pct"}
    assert figures["without_guard_s"] > 0
    assert figures["with_guard_s"] > 0
    assert runtime.installed() == was_installed


def test_suite_overhead_runs_the_generated_suite_both_ways(sqlite_database: Database) -> None:
    figures = measure_suite_overhead(sqlite_database.url, tests=1, requests=1, repeats=1)
    assert figures["without_flag_s"] > 0
    assert figures["with_flag_s"] > 0
    assert figures["requests"] == 2
