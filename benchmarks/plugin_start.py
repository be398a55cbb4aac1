"""What the harness's pytest plugin costs a team's pytest start while none of its options is
used: pytest on a folder with one trivial test, with the plugin and without it, in alternating
pairs. Goal (issue 25): under 5 %.

Two setups, both in this interpreter's environment:
- `bare pytest`: `PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`, the plugin loaded with `-p
  scenarios.pytest_entry` or not at all: the smallest denominator, so the strictest ratio;
- `this environment`: every installed plugin loads (Hypothesis, xdist, asyncio...), as in a
  real suite; without = `-p no:two_sessions_harness`.

The figure is the ratio of the best CPU times (user + system of the pytest process) with and
without: other jobs on a shared machine only ever add time, so the best run of each side is
the one they disturbed least (as `timeit` takes the best). The median of the pairs' ratios and
the wall times are kept beside it, to show the noise. The modules the plugin adds to a pytest
start are listed too: the reason the ratio is what it is. And, as a figure a busy machine
disturbs far less than two whole pytest runs, the CPU time of the plugin's own start work
(importing its modules and registering them with a pytest plugin manager) in a fresh
interpreter, best of several, and its share of the bare pytest start.

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
# The plugin's own start work, timed inside a fresh interpreter (imports are cached after one).
OWN_WORK = """
import time
from _pytest.config import get_config

config = get_config([])
started = time.process_time()
import scenarios.pytest_entry as entry

config.pluginmanager.register(entry, "two_sessions_harness")
entry.pytest_addhooks(config.pluginmanager)
assert config.pluginmanager.has_plugin("session_guard")
print(time.process_time() - started)
"""
OWN_WORK_RUNS = 12
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
    best_cpu = {side: min(r[0] for r in runs[side]) for side in runs}
    best_wall = {side: min(r[1] for r in runs[side]) for side in runs}
    cost = _pct(best_cpu["with"] / best_cpu["without"])
    return {
        "with_args": setup["with"],
        "without_args": setup["without"],
        "env": setup["env"],
        "best_cpu_s": {side: round(t, 3) for side, t in best_cpu.items()},
        "best_wall_s": {side: round(t, 3) for side, t in best_wall.items()},
        "median_cpu_s": {s: round(statistics.median(r[0] for r in runs[s]), 3) for s in runs},
        "median_wall_s": {s: round(statistics.median(r[1] for r in runs[s]), 3) for s in runs},
        "cost_cpu_pct": cost,
        "cost_wall_pct": _pct(best_wall["with"] / best_wall["without"]),
        "median_pair_cost_cpu_pct": _pct(statistics.median(cpu_ratios)),
        "pair_cost_cpu_pct": [_pct(r) for r in cpu_ratios],
        "within_goal": cost < GOAL_PCT,
    }


def own_work_s(runs: int = OWN_WORK_RUNS) -> float:
    """Best CPU seconds of the plugin's imports and registration, each in a fresh process."""
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", OWN_WORK],
            env=_environment({}),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=True,
        )
        times.append(float(done.stdout))
    return min(times)


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
    own = own_work_s()
    report = {
        "benchmark": "plugin_start",
        "what": "pytest on one trivial test, with and without the harness's plugin, "
        f"{pairs} alternating pairs; cost = best CPU time with / best without - 1",
        "goal_pct": GOAL_PCT,
        "pairs": pairs,
        "setups": setups,
        "within_goal": all(s["within_goal"] for s in setups.values()),
        "modules_added": added,
        "own_work_ms": round(own * 1000, 2),
        "own_work_pct_of_bare_start": round(
            own / setups["bare pytest"]["best_cpu_s"]["without"] * 100, 1
        ),
        "machine_load": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def markdown(report: dict[str, Any]) -> list[str]:
    rows = [
        f"| {label} | {s['best_cpu_s']['without']} | {s['best_cpu_s']['with']} "
        f"| {s['cost_cpu_pct']:+.1f} % | {s['cost_wall_pct']:+.1f} % "
        f"| {s['median_pair_cost_cpu_pct']:+.1f} % | {'yes' if s['within_goal'] else 'no'} |"
        for label, s in report["setups"].items()
    ]
    return [
        "## pytest start with the harness's plugin, unused",
        "",
        f"{report['what']}; goal under {report['goal_pct']} %. Modules the plugin adds to a "
        f"bare pytest start: {', '.join(report['modules_added']) or 'none'}.",
        "",
        "| setup | best CPU s without | best CPU s with | cost (CPU) | cost (wall) "
        "| median of pairs (CPU) | within goal |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"The plugin's own start work (its imports and registration, best of {OWN_WORK_RUNS} "
        f"fresh processes): {report['own_work_ms']} ms of CPU, "
        f"{report['own_work_pct_of_bare_start']} % of the bare pytest start.",
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
