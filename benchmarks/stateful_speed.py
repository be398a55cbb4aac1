"""How fast the stateful search runs: ten-step request histories a second on each database.

The goal (issue 17; 25 in issue 4) is at least 40 a second with the fixed wirings. This module
only measures and writes reports/bench-stateful.json; no test asserts a timing. `nox -s bench` calls
`measure_stateful_speed()`; `python -m benchmarks.stateful_speed` runs it alone.

Beside the rate, each cell says where the wall time went (the app's requests, the reads of the
database after each step, the resets between examples, and the rest: Hypothesis and the
machine) and the CPU time a step costs this process, which a busy machine inflates far less
than the wall time. The ceiling is the rate if nothing but the app's requests took time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.tables import table
from scenarios.adapter import (
    ChatRequest,
    ChatResponse,
    DatabaseState,
    PointHook,
    SeedConversation,
    Target,
    TargetFactory,
)
from scenarios.databases import KINDS, PostgresUnavailable, open_scratch_database
from scenarios.stateful import STEP_COUNT, open_machine, search, stateful_settings

GOAL_TEN_STEP_EXAMPLES_PER_S = 40.0
FIXED_WIRINGS = ("shared_session", "unit_of_work")
DEFAULT_EXAMPLES = 100
DEFAULT_OUTPUT = Path("reports") / "bench-stateful.json"


class WallClock:
    """Wall time inside each kind of call; calls of a kind that overlap (a concurrent batch's
    requests) count once, so the kinds' seconds add up to at most the elapsed time."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self._inside: Counter[str] = Counter()
        self._since: dict[str, float] = {}

    @contextmanager
    def timing(self, kind: str) -> Iterator[None]:
        if not self._inside[kind]:
            self._since[kind] = time.perf_counter()
        self._inside[kind] += 1
        try:
            yield
        finally:
            self._inside[kind] -= 1
            if not self._inside[kind]:
                self.seconds[kind] += time.perf_counter() - self._since.pop(kind)


class TimedTarget:
    """A target that tells `clock` how long its calls took, and otherwise is the target."""

    def __init__(self, target: Target, clock: WallClock) -> None:
        self.capabilities = target.capabilities
        self._target = target
        self._clock = clock

    async def send(self, request: ChatRequest, hook: PointHook | None = None) -> ChatResponse:
        with self._clock.timing("send"):
            return await self._target.send(request, hook)

    async def read_back(self, session: str) -> ChatResponse:
        with self._clock.timing("send"):
            return await self._target.read_back(session)

    async def read_state(self) -> DatabaseState:
        with self._clock.timing("read_state"):
            return await self._target.read_state()

    async def reset(self) -> None:
        with self._clock.timing("reset"):
            await self._target.reset()

    async def seed(self, conversations: Sequence[SeedConversation]) -> None:
        with self._clock.timing("reset"):
            await self._target.seed(conversations)


def where_the_time_went(
    clock: WallClock, wall_s: float, cpu_s: float, steps: int
) -> dict[str, Any]:
    """Shares of the wall time, CPU per step, and the rate the app's requests alone allow."""
    shares = {
        "app_requests": clock.seconds["send"],
        "reads_after_steps": clock.seconds["read_state"],
        "resets": clock.seconds["reset"],
    }
    shares["search_and_machine"] = max(0.0, wall_s - sum(shares.values()))
    requests_s = clock.seconds["send"]
    return {
        "percent_of_wall": {k: round(100 * v / wall_s, 1) for k, v in shares.items()},
        "cpu_ms_per_step": round(1000 * cpu_s / steps, 2) if steps else None,
        "ceiling_ten_step_examples_per_s": (
            round(steps / STEP_COUNT / requests_s, 1) if requests_s else None
        ),
    }


def _measure_one(factory: TargetFactory, wiring: str, kind: str, examples: int) -> dict[str, Any]:
    clock = WallClock()
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
                machine.target = TimedTarget(machine.target, clock)
                steps_before = machine.stats.steps
                cpu_before = time.process_time()
                result = search(
                    machine, stateful_settings("quick", max_examples=examples, database=None)
                )
                cpu_s = time.process_time() - cpu_before
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
        **where_the_time_went(clock, seconds, cpu_s, steps),
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


def markdown(part: dict[str, Any]) -> list[str]:
    """This part's section of reports/bench.md (`nox -s bench`): `part` holds the measure's
    source and result, or its error."""
    lines = ["## Hypothesis stateful search", ""]
    result = part.get("result")
    if not isinstance(result, dict):
        return [*lines, str(part.get("error")), ""]
    rows = [
        [
            c.get("db"),
            c.get("wiring"),
            c.get("examples_per_s", c.get("skipped")),
            c.get("ten_step_examples_per_s"),
            c.get("cpu_ms_per_step"),
            *(c.get("percent_of_wall", {}).get(k) for k in _STATEFUL_SHARES),
            c.get("ceiling_ten_step_examples_per_s"),
        ]
        for c in result.get("cells", [])
    ]
    return [
        *lines,
        f"From `{part['source']}()`; goal {result.get('goal_ten_step_examples_per_s')} ten-step "
        f"examples/s, met: {result.get('meets_goal')}. Where the wall time went, in percent: "
        "the app's requests, the read of the database after each step, the resets between "
        "examples, and the rest (Hypothesis and the machine); the ceiling is the rate if "
        "nothing but the app's requests took time.",
        "",
        *table(
            [
                "db",
                "wiring",
                "examples/s",
                "ten-step examples/s",
                "ms CPU/step",
                "% requests",
                "% reads",
                "% resets",
                "% search",
                "ceiling/s",
            ],
            rows,
        ),
    ]


_STATEFUL_SHARES = ("app_requests", "reads_after_steps", "resets", "search_and_machine")


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
        shares = ", ".join(f"{k} {v}%" for k, v in cell["percent_of_wall"].items())
        print(
            f"{cell['db']:<10} {cell['wiring']:<15} {cell['ten_step_examples_per_s']:>6} "
            f"ten-step examples/s ({cell['examples']} examples, {cell['steps']} steps, "
            f"{cell['duration_s']} s; {cell['cpu_ms_per_step']} ms CPU/step; wall: {shares}; "
            f"ceiling {cell['ceiling_ten_step_examples_per_s']}/s)"
        )
    print(f"goal {GOAL_TEN_STEP_EXAMPLES_PER_S}/s met: {report['meets_goal']}; wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
