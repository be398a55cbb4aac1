"""How fast the stateful search runs: ten-step request histories a second on each database.

The goal (issue 17; 25 in issue 4) is at least 40 a second with the fixed wirings. This module
only measures and writes reports/bench-stateful.json; no test asserts a timing. `nox -s bench` calls
`measure_stateful_speed()`; `python -m benchmarks.stateful_speed` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scenarios.adapter import TargetFactory
from scenarios.databases import KINDS, PostgresUnavailable, open_scratch_database
from scenarios.stateful import STEP_COUNT, open_machine, search, stateful_settings

GOAL_TEN_STEP_EXAMPLES_PER_S = 40.0
FIXED_WIRINGS = ("shared_session", "unit_of_work")
DEFAULT_EXAMPLES = 100
DEFAULT_OUTPUT = Path("reports") / "bench-stateful.json"


def _measure_one(factory: TargetFactory, wiring: str, kind: str, examples: int) -> dict[str, Any]:
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        stack = AsyncExitStack()
        try:
            database = runner.run(stack.enter_async_context(open_scratch_database(kind)))
        except PostgresUnavailable as unavailable:
            return {"db": kind, "wiring": wiring, "skipped": str(unavailable)}
        try:
            with open_machine(factory, wiring, database) as machine:
                # Warm up: engine pools, schema, first-use imports; not timed.
                search(machine, stateful_settings("quick", max_examples=3, database=None))
                steps_before = machine.stats.steps
                result = search(
                    machine, stateful_settings("quick", max_examples=examples, database=None)
                )
                steps = machine.stats.steps - steps_before
        finally:
            runner.run(stack.aclose())
    seconds = result.duration_s
    return {
        "db": kind,
        "wiring": wiring,
        "examples": result.examples,
        "steps": steps,
        "duration_s": round(seconds, 3),
        "examples_per_s": round(result.examples / seconds, 1),
        # Histories end early only when a step fails; steps / 10 counts full ten-step examples.
        "ten_step_examples_per_s": round(steps / STEP_COUNT / seconds, 1),
        "findings": [f"{f.outcome.value}: {f.message}" for f in result.findings],
    }


def _measure(
    factory: TargetFactory,
    wirings: Sequence[str],
    databases: Sequence[str],
    examples: int,
    output: Path | None,
) -> dict[str, Any]:
    results = [
        _measure_one(factory, wiring, kind, examples) for kind in databases for wiring in wirings
    ]
    per_database: dict[str, float | None] = {}
    for kind in databases:
        rates = [r["ten_step_examples_per_s"] for r in results if r["db"] == kind and "steps" in r]
        per_database[kind] = min(rates) if rates else None
    measured = [rate for rate in per_database.values() if rate is not None]
    report: dict[str, Any] = {
        "benchmark": "stateful_speed",
        "target": factory.name,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "stateful_step_count": STEP_COUNT,
        "examples_per_cell": examples,
        "goal_ten_step_examples_per_s": GOAL_TEN_STEP_EXAMPLES_PER_S,
        "ten_step_examples_per_s": per_database,  # slowest fixed wiring on each database
        "meets_goal": bool(measured)
        and all(rate >= GOAL_TEN_STEP_EXAMPLES_PER_S for rate in measured),
        "cells": results,
    }
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return report


def measure_stateful_speed(
    factory: TargetFactory | None = None,
    *,
    wirings: Sequence[str] = FIXED_WIRINGS,
    databases: Sequence[str] = KINDS,
    examples: int = DEFAULT_EXAMPLES,
    output: Path | None = DEFAULT_OUTPUT,
) -> dict[str, Any]:
    """Time `examples` histories per wiring and database; write `output` (None: don't).

    Each cell gets its own scratch database, runner and open target, as the tests do. Called
    from inside a running event loop, it measures in a worker thread (and blocks until done).
    """
    if factory is None:
        from reference_app.adapter import TARGET

        factory = TARGET
    arguments = (factory, wirings, databases, examples, output)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _measure(*arguments)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_measure, *arguments).result()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES)
    parser.add_argument("--db", action="append", choices=KINDS)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    report = measure_stateful_speed(
        databases=args.db or KINDS, examples=args.examples, output=args.output
    )
    for cell in report["cells"]:
        if "skipped" in cell:
            print(f"{cell['db']:<10} {cell['wiring']:<15} skipped: {cell['skipped']}")
            continue
        print(
            f"{cell['db']:<10} {cell['wiring']:<15} {cell['ten_step_examples_per_s']:>6} "
            f"ten-step examples/s ({cell['examples']} examples, {cell['steps']} steps, "
            f"{cell['duration_s']} s)"
        )
    print(f"goal {GOAL_TEN_STEP_EXAMPLES_PER_S}/s met: {report['meets_goal']}; wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
