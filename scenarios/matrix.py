"""The matrix: every wiring of a target on every database, each case classified and judged."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Executor
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scenarios.adapter import TargetFactory
from scenarios.case_result import CaseResult, skipped_case
from scenarios.databases import (
    Database,
    ServerUnavailable,
    open_scratch_database,
    postgres_required,
)
from scenarios.outcomes import Verdict
from scenarios.recovery import run_wiring
from scenarios.scenario import Scenario

if TYPE_CHECKING:
    from scenarios.stateful import StatefulSearch


# Each wiring's cases run in this many shards side by side, each on a scratch database of its own.
CASE_SHARDS = 2


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
    open_targets: int | None = None,
) -> MatrixRun:
    """Run every case; an unreachable Postgres skips its cells, or raises under CI.

    With `stateful`, each cell also gets one Hypothesis search (scenario `stateful`), each in a
    worker process. Results keep the order database, wiring, scenario whatever ran first.
    `open_targets` bounds how many targets (each with its app's connection pool) are open at
    once on each database, for isolated targets: many wirings whose apps leak connections,
    all side by side, would exhaust a server's max_connections; None opens every shard at once."""
    run = MatrixRun(target=factory.name)
    started = time.perf_counter()
    with ExitStack() as pools:
        pool = None
        if stateful is not None:
            from scenarios.stateful.matrix_case import search_process_pool

            pool = pools.enter_context(
                search_process_pool(
                    len(wirings) * len(databases),
                    [type(factory).__module__],
                    workers=stateful.workers,
                )
            )

        def branch(kind: str) -> Coroutine[Any, Any, list[CaseResult]]:
            return _run_database(
                factory,
                run,
                kind,
                wirings=wirings,
                scenarios=scenarios,
                progress=progress,
                stateful=stateful,
                pool=pool,
                open_targets=open_targets,
            )

        if not isolated_targets(factory):
            # One target open at a time in this process: an adapter over an app with a module-
            # level engine or container re-points it in `open`, and nothing else uses it
            # meanwhile (the searches run in worker processes of their own).
            for kind in databases:
                run.results.extend(await branch(kind))
            run.duration_s = time.perf_counter() - started
            return run
        # Isolated targets: the databases' cells run side by side; results keep database order.
        # Every branch finishes before an error (an unreachable Postgres under CI) is raised, so
        # no branch is torn down while its driver is still connecting.
        per_database = await asyncio.gather(
            *(branch(kind) for kind in databases), return_exceptions=True
        )
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
    pool: Executor | None = None,
    open_targets: int | None = None,
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
        except ServerUnavailable as unavailable:
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
        # The searches run in worker processes, on scratch databases of their own: beside the
        # scenarios when targets are isolated; otherwise after them, so that no target is open
        # while the factory is handed to the workers (its state travels with it).
        searches = (
            asyncio.ensure_future(stateful.run_cells(factory, wirings, kind, pool))
            if stateful and isolated_targets(factory)
            else None
        )
        if isolated_targets(factory):
            # Wirings run side by side, each in CASE_SHARDS shards with a scratch database of its
            # own (the first shard takes the one opened above): a bounded lock wait (two_sessions
            # on SQLite waits out the busy timeout in most cases) no longer holds up other cases.
            # At most `open_targets` of them at once, each later shard on a database it opens.
            shards = [
                (wiring, part) for wiring in wirings for part in shard(scenarios, CASE_SHARDS)
            ]
            gate = asyncio.Semaphore(open_targets or max(1, len(shards)))

            async def run_shard(wiring: str, part: list[Scenario], first: bool) -> list[CaseResult]:
                async with gate:
                    if first:
                        return await _run_wiring(factory, wiring, database, part)
                    async with open_scratch_database(kind) as own:
                        return await _run_wiring(factory, wiring, own, part)

            per_shard = await asyncio.gather(
                *(run_shard(wiring, part, i == 0) for i, (wiring, part) in enumerate(shards))
            )
        else:  # one target open at a time
            per_shard = [
                await _run_wiring(factory, wiring, database, scenarios) for wiring in wirings
            ]
        for shard_results in per_shard:
            for result in shard_results:
                record(result)
        if stateful and searches is None:
            searches = asyncio.ensure_future(stateful.run_cells(factory, wirings, kind, pool))
        for result in await searches if searches is not None else ():
            record(result)
    return results


def shard(scenarios: Sequence[Scenario], parts: int) -> list[list[Scenario]]:
    """`scenarios` in at most `parts` contiguous runs (order kept) of about equal case counts."""
    total = sum(len(s.interleavings()) for s in scenarios)
    shards: list[list[Scenario]] = [[]]
    done = 0
    for scenario in scenarios:
        cases = len(scenario.interleavings())
        # A new shard starts where this scenario's middle would pass the current shard's share.
        if shards[-1] and len(shards) < parts and done + cases / 2 > total * len(shards) / parts:
            shards.append([])
        shards[-1].append(scenario)
        done += cases
    return [part for part in shards if part]


async def _run_wiring(
    factory: TargetFactory,
    wiring: str,
    database: Database,
    scenarios: Sequence[Scenario],
) -> list[CaseResult]:
    """One wiring's cases on one database, case by case; a case that leaves a connection open
    is named and cleaned up after (scenarios.recovery)."""
    results: list[CaseResult] = []
    await run_wiring(
        factory,
        database,
        scenarios,
        wiring=wiring,
        expected_outcome=factory.expected_outcome,
        record=results.append,
    )
    return results
