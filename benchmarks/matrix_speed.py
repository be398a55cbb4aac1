"""The default matrix before and after a change, in one sitting: CPU time of the whole process
tree, run by run, interleaved, as ratios.

`python -m benchmarks.matrix_speed --before main` (or `nox -s matrix-speed -- --before main`)
unpacks REF (`git archive`) into a temporary folder and runs `python -m scenarios run --quiet`
there and in this checkout, alternately (before, after, after, before, ...: a load that rises
or falls during the sitting weighs on both sides alike), and writes reports/bench-matrix-speed.json
and .md. Nothing asserts a timing.

The machine is shared and noisy, so the figure is CPU time, not wall time: user + system time
of every process of a run, the search workers and the fork server they come from included.
Those are not the run's own children (the fork server is left to exit once the run has; its
workers are its children), so `/usr/bin/time` and RUSAGE_CHILDREN alone would miss them: this
process makes itself their subreaper (Linux's PR_SET_CHILD_SUBREAPER), waits for every
descendant, and only then reads RUSAGE_CHILDREN.

Each run must pass (every case as expected) and both sides must run the same cases with the same
outcomes and the same number of Hypothesis request histories per search (read from the
stateful-*.md reports): a faster run that searched less is not faster.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OUTPUT = Path("reports") / "bench-matrix-speed"
PR_SET_CHILD_SUBREAPER = 36
RUN_LIMIT_S = 600.0  # one matrix run; the default one takes 10-40 s on this project's machine
REAP_LIMIT_S = 30.0  # a fork server exits as soon as the run that started it has
_HISTORIES = re.compile(r"Hypothesis ran (\d+) request histories")


def become_subreaper() -> bool:
    """Orphaned descendants (a fork server outliving its run) are reparented to this process,
    so their CPU time reaches RUSAGE_CHILDREN once they are waited for. Linux only."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


def _reap_all(limit_s: float = REAP_LIMIT_S) -> None:
    """Wait for every child (orphans included), at most `limit_s`."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)
    raise TimeoutError(f"descendants still running {limit_s:.0f} s after the run ended")


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_matrix(checkout: Path, reports: Path, extra: Sequence[str] = ()) -> dict[str, Any]:
    """One `python -m scenarios run --quiet` in `checkout` (its own code first on sys.path):
    wall and CPU time, exit code, and what it proved."""
    command = [sys.executable, "-m", "scenarios", "run", "--quiet", "--reports", str(reports)]
    command += extra
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    _reap_all()
    cpu_before = _children_cpu_s()
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=checkout, env=env, capture_output=True, text=True, timeout=RUN_LIMIT_S
    )
    wall = time.perf_counter() - started
    _reap_all()
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(_children_cpu_s() - cpu_before, 2),
        "exit_code": completed.returncode,
        "summary": (completed.stdout.strip().splitlines()[-1:] if completed.returncode == 0 else [])
        or [completed.stderr[-600:]],
        **proof(reports),
    }


def proof(reports: Path) -> dict[str, Any]:
    """What a run proved: its case count, each case's observed outcome, and each search's
    number of request histories (nothing, when the run wrote no matrix.json)."""
    try:
        matrix = json.loads((reports / "matrix.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"cases": 0, "as_expected": 0, "passed": False, "histories": {}}
    histories = {}
    for page in sorted(reports.glob("stateful-*.md")):
        found = _HISTORIES.search(page.read_text(encoding="utf-8"))
        histories[page.stem] = int(found[1]) if found else None
    return {
        "cases": matrix["summary"]["cases"],
        "as_expected": matrix["summary"]["as_expected"],
        "passed": matrix["summary"]["passed"],
        "histories": histories,
    }


def _unpack(ref: str, into: Path) -> str:
    """REF's tree into `into`; its commit id."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", ref], capture_output=True, text=True, check=True
    ).stdout.strip()
    archive = subprocess.run(["git", "archive", commit], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return commit


def compile_bytecode(checkout: Path) -> None:
    """What `nox`'s install does: the project's packages compiled once, so that neither side
    compiles its modules from source in every process (PYTHONDONTWRITEBYTECODE is often set)."""
    packages = [p for p in ("scenarios", "reference_app", "examples") if (checkout / p).is_dir()]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *packages],
        cwd=checkout,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""},
        check=True,
        capture_output=True,
    )


def _same_proof(runs: Sequence[dict[str, Any]]) -> list[str]:
    """Where runs differ in what they proved (empty: every run proved the same)."""
    problems = [
        f"run {i} ({r['side']}): exit {r['exit_code']}, passed {r['passed']}"
        for i, r in enumerate(runs, 1)
        if r["exit_code"] != 0 or not r["passed"]
    ]
    first = runs[0]
    for i, run in enumerate(runs[1:], 2):
        for key in ("cases", "histories"):
            if run[key] != first[key]:
                problems.append(f"run {i} ({run['side']}): {key} differ from run 1's")
    return problems


def measure(
    before: str, pairs: int, extra: Sequence[str] = (), after: str | None = None
) -> dict[str, Any]:
    """`pairs` runs of each side, interleaved; `after` a git ref, or None for this checkout."""
    reaper = become_subreaper()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-matrix-") as scratch:
        before_dir = Path(scratch) / "before"
        before_dir.mkdir()
        before_commit = _unpack(before, before_dir)
        after_dir = Path.cwd()
        after_commit = ""
        if after is not None:
            after_dir = Path(scratch) / "after"
            after_dir.mkdir()
            after_commit = _unpack(after, after_dir)
        for checkout in (before_dir, after_dir):
            compile_bytecode(checkout)
        for pair in range(pairs):
            # before, after, after, before, ...: neither side always runs first
            order = ("before", "after") if pair % 2 == 0 else ("after", "before")
            for side in order:
                checkout = before_dir if side == "before" else after_dir
                reports = Path(scratch) / f"reports-{len(runs)}"
                run = {"side": side, "pair": pair + 1, **run_matrix(checkout, reports, extra)}
                runs.append(run)
                print(
                    f"  pair {pair + 1} {side:6}: {run['cpu_s']:6.2f} s CPU, "
                    f"{run['wall_s']:6.2f} s wall, {run['cases']} cases, exit {run['exit_code']}",
                    flush=True,
                )
    if after is None:
        after_commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip() + (" + uncommitted changes" if _dirty() else "")
    ratios = [
        next(r for r in runs if r["pair"] == p and r["side"] == "after")["cpu_s"]
        / next(r for r in runs if r["pair"] == p and r["side"] == "before")["cpu_s"]
        for p in range(1, pairs + 1)
    ]

    def median(side: str, key: str) -> float:
        return round(float(statistics.median(r[key] for r in runs if r["side"] == side)), 2)

    return {
        "benchmark": "matrix_speed",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "load_average_at_end": os.getloadavg(),
        "command": "python -m scenarios run --quiet " + " ".join(extra),
        "subreaper": reaper,
        "before": {"ref": before, "commit": before_commit},
        "after": {"ref": after or "this checkout", "commit": after_commit},
        "median_cpu_s": {"before": median("before", "cpu_s"), "after": median("after", "cpu_s")},
        "median_wall_s": {
            "before": median("before", "wall_s"),
            "after": median("after", "wall_s"),
        },
        "cpu_ratio_per_pair": [round(r, 3) for r in ratios],
        "median_cpu_ratio": round(statistics.median(ratios), 3),
        "same_proof": not _same_proof(runs),
        "problems": _same_proof(runs),
        "runs": runs,
    }


def _dirty() -> bool:
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], text=True, capture_output=True
    ).stdout
    return bool(status.strip())


def markdown(report: dict[str, Any]) -> str:
    cpu, wall = report["median_cpu_s"], report["median_wall_s"]
    lines = [
        "# The default matrix, before and after",
        "",
        f"`{report['command'].strip()}`, {len(report['runs'])} runs interleaved, "
        f"{report['generated_at']}; before {report['before']['ref']} "
        f"({report['before']['commit']}), after {report['after']['commit']}.",
        "",
        "| | median CPU s | median wall s |",
        "|---|---|---|",
        f"| before | {cpu['before']} | {wall['before']} |",
        f"| after | {cpu['after']} | {wall['after']} |",
        "",
        f"CPU after / before, per pair: {report['cpu_ratio_per_pair']} "
        f"(median {report['median_cpu_ratio']}).",
        "",
        "Same cases, outcomes and request histories on both sides: "
        + ("yes" if report["same_proof"] else "NO: " + "; ".join(report["problems"])),
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.matrix_speed", description=__doc__)
    parser.add_argument("--before", default="main", help="git ref to compare with (default main)")
    parser.add_argument("--after", help="git ref to measure (default: this checkout as it is)")
    parser.add_argument("--pairs", type=int, default=3, help="before/after pairs (default 3)")
    parser.add_argument("--reports", type=Path, default=OUTPUT.parent)
    parser.add_argument("matrix_args", nargs="*", help="passed on to `scenarios run`")
    args = parser.parse_args(argv)
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    report = measure(args.before, args.pairs, args.matrix_args, args.after)
    args.reports.mkdir(parents=True, exist_ok=True)
    (args.reports / f"{OUTPUT.name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.reports / f"{OUTPUT.name}.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    return 0 if report["same_proof"] else 1


if __name__ == "__main__":
    sys.exit(main())
