"""The sweep's benchmark runs and writes its figures (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.sweep_speed import measure_sweep_speed


def test_the_sweep_benchmark_writes_runs_a_second_per_database(tmp_path: Path) -> None:
    output = tmp_path / "bench-sweep.json"
    report = measure_sweep_speed(databases=("sqlite",), output=output, requests=1, repeats=1)
    (cell,) = report["cells"]
    assert cell["db"] == "sqlite"
    assert cell["all_atomic"] is True
    assert cell["runs_per_sweep"] == 11  # the first run and 10 boundaries
    assert cell["median_runs_per_s"] > 0
    assert json.loads(output.read_text()) == report
