"""The matrix: every wiring of a target on every database, each case classified and judged."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scenarios.adapter import TargetFactory
from scenarios.databases import (
    Database,
    PostgresUnavailable,
    open_scratch_database,
    postgres_required,
)
from scenarios.outcomes import Verdict
from scenarios.recovery import run_wiring
from scenarios.runner import CaseResult, skipped_case
from scenarios.scenario import Scenario

if TYPE_CHECKING:
    from scenarios.stateful import StatefulSearch


@dataclass
class MatrixRun:
    target: str
    results: list[CaseResult] = field(default_factory=list)
    databases: dict[str, str] = field(default_factory=dict)  # kind -> masked URL or why skipped
    notes: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def unexpected(self) -> list[CaseResult]:
        return [r for r in self.results if r.verdict is Verdict.UNEXPECTED]

    @property
    def skipped(self) -> list[CaseResult]:
        return [r for r in self.results if r.verdict is Verdict.SKIPPED]


async def run_matrix(
    factory: TargetFactory,
    *,
    wirings: Sequence[str],
    databases: Sequence[str],
    scenarios: Sequence[Scenario],
    progress: Callable[[CaseResult], None] | None = None,
    stateful: StatefulSearch | None = None,
) -> MatrixRun:
    """Run every case; an unreachable Postgres skips its cells, or raises under CI.

    With `stateful`, each cell also gets one Hypothesis search (scenario `stateful`)."""
    run = MatrixRun(target=factory.name)
    started = time.perf_counter()
    branches = [
        _run_database(
            factory,
            run,
            kind,
            wirings=wirings,
            scenarios=scenarios,
            progress=progress,
            stateful=stateful,
        )
        for kind in databases
    ]
    if not isolated_targets(factory):
        # One target open at a time in this process: an adapter over an app with a module-
        # level engine or container re-points it in `open`, and nothing else uses it meanwhile.
        for branch in branches:
            run.results.extend(await branch)
        run.duration_s = time.perf_counter() - started
        return run
    # Isolated targets: the databases' cells run side by side; results keep database order.
    # Every branch finishes before an error (an unreachable Postgres under CI) is raised, so no
    # branch is torn down while its driver is still connecting.
    per_database = await asyncio.gather(*branches, return_exceptions=True)
    for outcome in per_database:
        if isinstance(outcome, BaseException):
            raise outcome
    for results in per_database:
        assert not isinstance(results, BaseException)
        run.results.extend(results)
    run.duration_s = time.perf_counter() - started
    return run


def isolated_targets(factory: TargetFactory) -> bool:
    """Whether the adapter declares `isolated_targets = True`: opening a target never touches
    another's state (an engine and app of its own per target), so several may be open at once.
    Undeclared, the runner opens one target at a time."""
    return getattr(factory, "isolated_targets", False) is True


async def _run_database(
    factory: TargetFactory,
    run: MatrixRun,
    kind: str,
    *,
    wirings: Sequence[str],
    scenarios: Sequence[Scenario],
    progress: Callable[[CaseResult], None] | None,
    stateful: StatefulSearch | None = None,
) -> list[CaseResult]:
    results: list[CaseResult] = []
    server_version = ""

    def record(result: CaseResult) -> None:
        if server_version:  # every cell says which server it ran on
            result = dataclasses.replace(result, server_version=server_version)
        results.append(result)
        if progress:
            progress(result)

    async with AsyncExitStack() as stack:
        try:
            database: Database = await stack.enter_async_context(open_scratch_database(kind))
        except PostgresUnavailable as unavailable:
            if postgres_required():
                raise
            reason = f"skipped: {unavailable}"
            run.databases[kind] = reason
            run.notes.append(f"{kind} cells skipped: {unavailable}")
            for wiring in wirings:
                for scenario in scenarios:
                    for interleaving in scenario.interleavings():
                        record(skipped_case(scenario, interleaving, wiring, kind, reason))
                if stateful is not None:
                    record(stateful.skipped(wiring, kind, reason))
            return results
        run.databases[kind] = database.display_url
        server_version = database.server_version  # stamped on every cell by record()
        # With isolated targets the searches (on a scratch database of their own) run beside
        # the scenarios; otherwise after them.
        searches = (
            asyncio.ensure_future(stateful.run_cells(factory, wirings, kind))
            if stateful and isolated_targets(factory)
            else None
        )
        for wiring in wirings:
            # Case by case; a case that leaves a connection open is named and cleaned up after.
            await run_wiring(
                factory,
                database,
                scenarios,
                wiring=wiring,
                expected_outcome=factory.expected_outcome,
                record=record,
            )
        if stateful and searches is None:
            searches = asyncio.ensure_future(stateful.run_cells(factory, wirings, kind))
        for result in await searches if searches is not None else ():
            record(result)
    return results
