"""The matrix's `stateful` case: one small search per wiring and database."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from hypothesis import settings

from scenarios.adapter import (
    TargetFactory,
)
from scenarios.databases import Database, ServerUnavailable, open_scratch_database
from scenarios.outcomes import Outcome
from scenarios.runner import CaseResult, judge, skipped_result
from scenarios.stateful.machine import open_machine
from scenarios.stateful.profiles import matrix_settings
from scenarios.stateful.search import GUARDS, INTERLEAVING, SCENARIO_NAME, search, write_report

_ONE_SEARCH_AT_A_TIME = threading.Lock()


# What the fork server imports once, before it forks the search workers: the search itself
# (Hypothesis, SQLAlchemy, the runner) and, added per pool, the adapter's module.
SEARCH_MODULES = ("scenarios.stateful.matrix_case",)


def search_process_pool(
    searches: int, preload: Sequence[str] = (), *, workers: int | None = None
) -> ProcessPoolExecutor:
    """Worker processes for the matrix's searches: `workers`, else one per core, at most one
    per search. More than the cores pays where the searches mostly wait (a MariaDB search
    waits out InnoDB's whole-second lock timeout in each replay of a lock bug).

    Processes, not threads: two Hypothesis runs in threads of one process crashed CPython
    3.11's AST compiler, so in-process searches must take turns; in processes they run at once.
    Not forked from the parent, which holds running event loops and driver threads that fork
    would copy, but from a fork server: a fresh single-threaded process that imports the search
    and `preload` (the adapter's module) once and forks each worker from itself. With `spawn`,
    every worker imported all of it again from nothing, about a fifth of the default matrix's
    CPU time (docs/benchmarks.md). The adapter's module imported cleanly in the parent; under
    `spawn` each worker imported it too, to unpickle the factory.
    """
    workers = max(1, min(searches, workers or os.cpu_count() or 1))
    context = get_context("forkserver")
    modules = [*SEARCH_MODULES, *(m for m in preload if m not in ("__main__", "__mp_main__"))]
    # Only read when the fork server starts (the first pool of a process); later pools fork
    # from the same server, their extra modules imported by the workers that need them.
    context.set_forkserver_preload(list(dict.fromkeys(modules)))
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_adopt_environment,
        initargs=(dict(os.environ),),
    )


def _adopt_environment(environ: dict[str, str]) -> None:
    """A worker's environment is the parent's when the pool was made, as a spawned worker's
    was, not the fork server's: the server may have started for an earlier matrix of the same
    process (a test), before HARNESS_PG_URL or the like changed. (The working directory and the
    import path come with each worker from the parent already: multiprocessing sends them.)"""
    os.environ.clear()
    os.environ.update(environ)


def _search_on_scratch_database(
    search: StatefulSearch, factory: TargetFactory, wiring: str, kind: str
) -> CaseResult:
    """In a worker process: one search on a scratch database of `kind` of its own."""
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        scratch = open_scratch_database(kind)
        try:
            database = runner.run(scratch.__aenter__())
        except ServerUnavailable as unavailable:
            return search.skipped(wiring, kind, f"skipped: {unavailable}")
        try:
            return search.run_cell_blocking(factory, wiring, database)
        finally:
            runner.run(scratch.__aexit__(None, None, None))


@dataclass(frozen=True)
class StatefulSearch:
    """The optional stateful case of each matrix cell: scenario `stateful`, its observed outcome
    the falsifying step's, its detail the shrunk example. Small, so the matrix stays quick."""

    max_examples: int = 10
    reports: Path | None = None
    settings_: settings | None = field(default=None, compare=False)
    # Worker processes for the searches (search_process_pool); None: one per core.
    workers: int | None = None

    def _settings(self) -> settings:
        return self.settings_ or matrix_settings(self.max_examples)

    async def run_cells(
        self,
        factory: TargetFactory,
        wirings: Sequence[str],
        kind: str,
        executor: Executor | None = None,
    ) -> list[CaseResult]:
        """One case per wiring, each on a scratch database of `kind` that nothing else uses (a
        wiring that leaks a connection keeps its file or rows locked; the next must not care).

        With a process pool as `executor`, each search runs in a worker process on a scratch
        database of its own, side by side with the others (see `search_process_pool`);
        without one, in a thread, one search at a time."""
        if executor is not None:
            loop = asyncio.get_running_loop()
            return list(
                await asyncio.gather(
                    *(
                        loop.run_in_executor(
                            executor, _search_on_scratch_database, self, factory, wiring, kind
                        )
                        for wiring in wirings
                    )
                )
            )
        try:
            results = []
            for wiring in wirings:
                async with open_scratch_database(kind) as database:
                    results.append(await self.run_cell(factory, wiring, database))
            return results
        except ServerUnavailable as unavailable:
            return [self.skipped(wiring, kind, f"skipped: {unavailable}") for wiring in wirings]

    async def run_cell(self, factory: TargetFactory, wiring: str, database: Database) -> CaseResult:
        """Runs in a worker thread: Hypothesis is synchronous and brings its own event loop."""
        return await asyncio.to_thread(self._run_cell_alone, factory, wiring, database)

    def _run_cell_alone(
        self, factory: TargetFactory, wiring: str, database: Database
    ) -> CaseResult:
        # One search at a time: two Hypothesis runs in parallel threads crash CPython 3.11's
        # AST compiler ("AST constructor recursion depth mismatch"), seen in CI.
        with _ONE_SEARCH_AT_A_TIME:
            return self.run_cell_blocking(factory, wiring, database)

    def run_cell_blocking(
        self, factory: TargetFactory, wiring: str, database: Database
    ) -> CaseResult:
        """One search in the calling thread (a worker process's, or under the lock above)."""
        expected = factory.expected_outcome(SCENARIO_NAME, INTERLEAVING, wiring, database.kind)
        started = time.perf_counter()
        try:
            with open_machine(factory, wiring, database) as machine:
                result = search(machine, self._settings())
        except Exception as error:  # noqa: BLE001 - any failure of the search is the case's error
            return self._case(
                wiring,
                database.kind,
                expected,
                Outcome.ERROR.value,
                f"the stateful search could not run: {type(error).__name__}: {error}",
                time.perf_counter() - started,
            )
        unwritten = ""
        if self.reports is not None:
            try:
                write_report(
                    result,
                    self.reports,
                    target=factory.name,
                    wiring=wiring,
                    db=database.kind,
                    expected=expected,
                )
            except OSError as error:  # the verdict stands; the run says what it could not write
                unwritten = f" (its report could not be written: {error.strerror or error})"
        primary = result.primary
        return self._case(
            wiring,
            database.kind,
            expected,
            result.outcome.value,
            result.summary() + unwritten,
            result.duration_s,
            steps=primary.steps if primary else (),
            rows=primary.rows if primary else {},
            responses=tuple(f"{f.outcome.value}: {f.message}" for f in result.findings),
        )

    def skipped(self, wiring: str, db: str, reason: str) -> CaseResult:
        return skipped_result(SCENARIO_NAME, INTERLEAVING, wiring, db, reason, guards=GUARDS)

    @staticmethod
    def _case(
        wiring: str,
        db: str,
        expected: str,
        observed: str,
        detail: str,
        duration_s: float,
        *,
        steps: tuple[str, ...] = (),
        rows: dict[str, Any] | None = None,
        responses: tuple[str, ...] = (),
    ) -> CaseResult:
        return CaseResult(
            scenario=SCENARIO_NAME,
            interleaving=INTERLEAVING,
            wiring=wiring,
            db=db,
            expected=expected,
            observed=observed,
            verdict=judge(observed, expected),  # an expectation may list several outcomes
            detail=detail,
            duration_s=duration_s,
            guards=GUARDS,
            steps=steps,
            responses=responses,
            rows=rows or {},
        )
