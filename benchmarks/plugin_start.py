"""What the harness's pytest plugin costs a team's pytest start while none of its options is
used: pytest on a folder with one trivial test, with the plugin and without it, in alternating
pairs. Goal (issue 25): under 5 %.

Two setups, both in this interpreter's environment:
- `bare pytest`: `PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`, the plugin loaded with `-p
  scenarios.pytest_entry` or not at all: the smallest denominator, so the strictest ratio;
- `this environment`: every installed plugin loads (Hypothesis, xdist, asyncio...), as in a
  real suite; without = `-p no:two_sessions_harness`.

The figure is the median of the pairs' ratios of CPU time (user + system of the pytest process,
which other jobs on a shared machine disturb less than wall time); wall time is kept beside it.
The modules the plugin adds to a pytest start are listed too: the reason the ratio is what it is.

`python -m benchmarks.plugin_start` writes reports/bench-plugin-start.json; `nox -s bench`
includes it. Nothing asserts a timing.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scenarios.inputs import OneLineParser, count_flag

ENTRY_POINT = "two_sessions_harness"
PLUGIN_MODULE = "scenarios.pytest_entry"
GOAL_PCT = 5.0
PAIRS = 8
OUTPUT = Path("reports/bench-plugin-start.json")
TIMEOUT_S = 120
TEST_FILE = "def test_addition():\n    assert 1 + 1 == 2\n"
# Writes the modules a pytest start imported, for the list of what the plugin adds.
MODULES_TEST = """
import json
import os
import sys


def test_modules():
    with open(os.environ["MODULES_OUT"], "w") as out:
        json.dump(sorted(sys.modules), out)
"""
SETUPS: dict[str, dict[str, Any]] = {
    "bare pytest": {
        "env": {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        "with": ["-p", PLUGIN_MODULE],
        "without": [],
    },
    "this environment": {
        "env": {},
        "with": [],
        "without": ["-p", f"no:{ENTRY_POINT}"],
    },
}


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode as a team's machine keeps it
    return env | extra


def _pytest(folder: Path, args: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """CPU seconds (user + system) and wall seconds of one pytest process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"pytest {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def _pct(ratio: float) -> float:
    return round((ratio - 1) * 100, 1)


def _measure_setup(folder: Path, setup: dict[str, Any], pairs: int) -> dict[str, Any]:
    env = _environment(setup["env"])
    _pytest(folder, setup["with"], env)  # warm: bytecode written, files in the page cache
    _pytest(folder, setup["without"], env)
    runs: dict[str, list[tuple[float, float]]] = {"with": [], "without": []}
    for pair in range(pairs):
        order = ("with", "without") if pair % 2 == 0 else ("without", "with")
        for side in order:
            runs[side].append(_pytest(folder, setup[side], env))
    cpu_ratios = [w[0] / wo[0] for w, wo in zip(runs["with"], runs["without"], strict=True)]
    wall_ratios = [w[1] / wo[1] for w, wo in zip(runs["with"], runs["without"], strict=True)]
    cost = _pct(statistics.median(cpu_ratios))
    return {
        "with_args": setup["with"],
        "without_args": setup["without"],
        "env": setup["env"],
        "median_cpu_s": {s: round(statistics.median(r[0] for r in runs[s]), 3) for s in runs},
        "median_wall_s": {s: round(statistics.median(r[1] for r in runs[s]), 3) for s in runs},
        "cost_cpu_pct": cost,
        "cost_wall_pct": _pct(statistics.median(wall_ratios)),
        "pair_cost_cpu_pct": [_pct(r) for r in cpu_ratios],
        "within_goal": cost < GOAL_PCT,
    }


def modules_added(folder: Path) -> list[str]:
    """The modules a bare pytest start imports with the plugin and not without it."""
    (folder / "test_modules.py").write_text(MODULES_TEST, encoding="utf-8")
    found: dict[str, set[str]] = {}
    try:
        for side in ("with", "without"):
            out = folder / f"modules-{side}.json"
            env = _environment(SETUPS["bare pytest"]["env"] | {"MODULES_OUT": str(out)})
            _pytest(folder, [*SETUPS["bare pytest"][side], "test_modules.py"], env)
            found[side] = set(json.loads(out.read_text(encoding="utf-8")))
            out.unlink()
    finally:
        (folder / "test_modules.py").unlink()
    return sorted(found["with"] - found["without"])


def measure_plugin_start(pairs: int = PAIRS, output: Path = OUTPUT) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="plugin-start-") as name:
        folder = Path(name)
        (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # not this project's
        added = modules_added(folder)
        (folder / "test_empty.py").write_text(TEST_FILE, encoding="utf-8")
        setups = {label: _measure_setup(folder, setup, pairs) for label, setup in SETUPS.items()}
    report = {
        "benchmark": "plugin_start",
        "what": "pytest on one trivial test, with and without the harness's plugin, "
        f"{pairs} alternating pairs; cost = median of the pairs' CPU-time ratios - 1",
        "goal_pct": GOAL_PCT,
        "pairs": pairs,
        "setups": setups,
        "within_goal": all(s["within_goal"] for s in setups.values()),
        "modules_added": added,
        "machine_load": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def markdown(report: dict[str, Any]) -> list[str]:
    rows = [
        f"| {label} | {s['median_cpu_s']['without']} | {s['median_cpu_s']['with']} "
        f"| {s['cost_cpu_pct']:+.1f} % | {s['cost_wall_pct']:+.1f} % "
        f"| {'yes' if s['within_goal'] else 'no'} |"
        for label, s in report["setups"].items()
    ]
    return [
        "## pytest start with the harness's plugin, unused",
        "",
        f"{report['what']}; goal under {report['goal_pct']} %. Modules the plugin adds to a "
        f"bare pytest start: {', '.join(report['modules_added']) or 'none'}.",
        "",
        "| setup | CPU s without | CPU s with | cost (CPU) | cost (wall) | within goal |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m benchmarks.plugin_start", description=__doc__)
    parser.add_argument("--pairs", type=count_flag(1), default=PAIRS, help=f"default {PAIRS}")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"default {OUTPUT}")
    args = parser.parse_args(argv)
    report = measure_plugin_start(args.pairs, args.output)
    print("\n".join(markdown(report)))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
