"""`nox -s stress-tests`: the test suite, several runs in a row, while busy loops keep the cores
busy. A suite that passes only on a quiet machine teaches its users to rerun until green.

Writes reports/stress-tests.json and reports/stress-tests.md: per run, passed or failed, the
test counts (from the run's JUnit file), its duration, and the load average at its start and
end. The busy loops are child processes this command starts and always stops (they also stop
by themselves if this process dies: each one exits once its parent is gone).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_RUNS = 3
DEFAULT_BUSY = 2
STOP_TIMEOUT_S = 5.0
# A loop that spins until its parent (this process) is gone, so no loop outlives a killed run.
BUSY_LOOP = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    pass\n"


@dataclass(frozen=True)
class StressRun:
    number: int
    passed: bool
    exit_code: int
    duration_s: float
    tests: int | None  # from the run's JUnit file; None when it wrote none
    failures: int | None
    skipped: int | None
    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float]


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return (round(one, 2), round(five, 2), round(fifteen, 2))


@contextmanager
def busy_processes(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` processes each spinning one core; stopped (terminate, then kill) on exit."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            processes.append(subprocess.Popen([sys.executable, "-c", BUSY_LOOP]))
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_S)


def _junit_counts(path: Path) -> tuple[int | None, int | None, int | None]:
    """(tests, failures + errors, skipped) from a JUnit file, or Nones when there is none."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return (None, None, None)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return (total, failed, skipped)


def run_suite(number: int, command: Sequence[str], junit: Path) -> StressRun:
    """One run of `command` (given `--junitxml=JUNIT` at its end), timed, with the load."""
    junit.unlink(missing_ok=True)
    load_start = load_average()
    started = time.perf_counter()
    exit_code = subprocess.run([*command, f"--junitxml={junit}"], check=False).returncode
    duration = time.perf_counter() - started
    tests, failures, skipped = _junit_counts(junit)
    return StressRun(
        number=number,
        passed=exit_code == 0,
        exit_code=exit_code,
        duration_s=round(duration, 1),
        tests=tests,
        failures=failures,
        skipped=skipped,
        load_start=load_start,
        load_end=load_average(),
    )


def stress(
    command: Sequence[str], *, runs: int, busy: int, reports: Path
) -> tuple[list[StressRun], dict[str, object]]:
    reports.mkdir(parents=True, exist_ok=True)
    results: list[StressRun] = []
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = load_average()
    with busy_processes(busy):
        for number in range(1, runs + 1):
            junit = reports / f"junit-stress-{number}.xml"
            results.append(run_suite(number, command, junit))
    context: dict[str, object] = {
        "started_at": started_at,
        "command": " ".join(command),
        "runs": runs,
        "busy_processes": busy,
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_average(),
    }
    return results, context


def render_markdown(results: Sequence[StressRun], context: dict[str, object]) -> str:
    passed = sum(r.passed for r in results)
    lines = [
        "# The suite under load (`nox -s stress-tests`)",
        "",
        f"{len(results)} run(s) in a row of `{context['command']}` while "
        f"{context['busy_processes']} busy loop(s) kept the {context['cpus']} cores busy; "
        f"started {context['started_at']}. **{passed} of {len(results)} passed.**",
        "",
        f"Load average (1, 5, 15 min) before the busy loops: {context['load_before']}; "
        f"after they stopped: {context['load_after']}.",
        "",
        "| run | verdict | tests | failed | skipped | duration (s) | load at start | load at end |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        verdict = "passed" if r.passed else f"FAILED (exit {r.exit_code})"
        lines.append(
            f"| {r.number} | {verdict} | {r.tests} | {r.failures} | {r.skipped} | "
            f"{r.duration_s} | {r.load_start[0]} | {r.load_end[0]} |"
        )
    lines += ["", "Per-run JUnit files: `junit-stress-N.xml` beside this page.", ""]
    return "\n".join(lines)


def write_reports(
    results: Sequence[StressRun], context: dict[str, object], folder: Path
) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    as_json = folder / "stress-tests.json"
    as_json.write_text(
        json.dumps({**context, "results": [asdict(r) for r in results]}, indent=2) + "\n",
        encoding="utf-8",
    )
    as_md = folder / "stress-tests.md"
    as_md.write_text(render_markdown(results, context), encoding="utf-8")
    return as_json, as_md


def _pytest_command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stress", description=__doc__)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="suite runs in a row")
    parser.add_argument("--busy", type=int, default=DEFAULT_BUSY, help="busy-loop processes")
    parser.add_argument("--reports", type=Path, default=Path("reports"))
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (after --), e.g. -n 2")
    options = parser.parse_args(argv)
    if options.runs < 1 or options.busy < 0:
        parser.error("--runs must be at least 1 and --busy at least 0")
    command = _pytest_command(options.pytest_args)
    results, context = stress(
        command, runs=options.runs, busy=options.busy, reports=options.reports
    )
    json_path, md_path = write_reports(results, context, options.reports)
    for r in results:
        print(
            f"stress run {r.number}: {'passed' if r.passed else 'FAILED'} in {r.duration_s} s "
            f"(load {r.load_start[0]} -> {r.load_end[0]})"
        )
    print(f"wrote {json_path} and {md_path}")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
