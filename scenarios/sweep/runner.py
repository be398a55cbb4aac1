"""The sweep itself: for each request, a first run that counts its boundaries, then one run per
boundary with a fault there, each from the same starting data, each judged by the database.

A request with N statements and M commits costs N + M + 1 runs after the first (the last one
fails the 2xx response start); above `max_boundaries` an even sample is run, and the result
says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util.concurrency import greenlet_spawn

from scenarios.databases import open_scratch_database
from scenarios.sweep.app import Answer, ServedApp
from scenarios.sweep.recorder import Event, Recorder, Run, install
from scenarios.sweep.requests import RequestPlan, SweepRequest, UsageError, saved_values
from scenarios.sweep.snapshot import (
    Change,
    Snapshot,
    diff,
    open_own_engine,
    reflect,
    restore,
    shape,
    take,
)
from scenarios.sweep.sources import AppFactory, AppSource, open_app
from scenarios.sweep.verdicts import Judgement, SweepVerdict, judge_faulted_run, judge_first_run
from scenarios.sweep.watch import RunWatch

DEFAULT_MAX_BOUNDARIES = 200


@dataclass(frozen=True)
class BoundaryResult:
    event: Event  # where the fault was planned (the first run's event at that index)
    status: int | None
    judgement: Judgement
    struck_sql: str | None  # what the fault actually met, when it differs from the plan


@dataclass
class RequestSweep:
    request: SweepRequest
    first_status: int | None
    first: Judgement
    timeline: list[Event]
    boundaries: list[BoundaryResult] = field(default_factory=list)
    sampled: bool = False
    stopped: str | None = None  # why the sweep could not go on (the database stayed locked)

    @property
    def outcomes(self) -> list[SweepVerdict]:
        return [self.first.outcome, *(b.judgement.outcome for b in self.boundaries)]

    @property
    def atomic(self) -> bool:
        return self.stopped is None and all(o is SweepVerdict.OK for o in self.outcomes)

    @property
    def statements(self) -> int:
        return sum(event.kind == "statement" for event in self.timeline)

    @property
    def commits(self) -> int:
        return sum(event.kind == "commit" for event in self.timeline)


@dataclass
class SweepResult:
    app_factory: str
    db: str
    database_url: str  # masked
    app_kind: str
    max_boundaries: int
    requests: list[RequestSweep] = field(default_factory=list)
    runs: int = 0
    duration_s: float = 0.0  # the whole sweep, scratch database and app start included
    runs_s: float = 0.0  # the runs alone: request, snapshot, restore

    @property
    def atomic(self) -> bool:
        return all(request.atomic for request in self.requests)

    @property
    def runs_per_second(self) -> float:
        return self.runs / self.runs_s if self.runs_s else 0.0


def choose_boundaries(timeline: list[Event], cap: int) -> tuple[list[Event], bool]:
    """Every boundary when they fit; else every commit and the response, the first and last
    statement, and statements evenly spaced between them."""
    if len(timeline) <= cap:
        return list(timeline), False
    must = [e for e in timeline if e.kind != "statement"]
    statements = [e for e in timeline if e.kind == "statement"]
    room = max(cap - len(must), 2)
    if room >= len(statements):
        picked = statements
    else:
        step = (len(statements) - 1) / (room - 1)
        picked = [statements[round(i * step)] for i in range(room)]
    chosen = {e.index: e for e in [*must, *picked]}
    return [chosen[i] for i in sorted(chosen)], True


class _Sweeper:
    def __init__(self, served: ServedApp, own: AsyncEngine, recorder: Recorder) -> None:
        self.served = served
        self.own = own
        self.recorder = recorder
        self.runs = 0
        self.stuck = False
        self.first_answer: Answer | None = None

    async def _run(
        self, request: SweepRequest, fault_at: int | None
    ) -> tuple[Answer, Run, RunWatch]:
        """One run, armed for its fault and watched by the session guard as one request."""
        run = self.recorder.arm(fault_at)
        watch = RunWatch(request.describe())
        self.served.watch = watch
        try:
            with watch:
                answer = await self.served.call(request)
        finally:
            self.served.watch = None
            self.recorder.disarm()
        self.runs += 1
        self.recorder.check_database()
        return answer, run, watch

    async def setup(self, request: SweepRequest) -> Answer:
        """A setup request: sent once, not swept; it must succeed."""
        watch = RunWatch(request.describe())
        with watch:
            answer = await self.served.call(request)
        self.recorder.check_database()
        if not answer.succeeded:
            cause = f"the database raised {watch.cause}" if watch.cause else answer.body[:200]
            raise UsageError(
                f"setup request {request.describe()} answered "
                f"{'nothing' if answer.status is None else f'HTTP {answer.status}'}: {cause}"
            )
        return answer

    async def sweep_one(self, request: SweepRequest, max_boundaries: int) -> RequestSweep:
        """One fresh connection of the sweep's own after each run: it reads the result, then
        restores the starting data for the next run (or, after the last, the data the request
        leaves with no fault, where the next request starts)."""
        async with self.own.connect() as connection:
            tables = await reflect(connection)
            before = await take(connection, tables)
        answer, run, watch = await self._run(request, None)
        self.first_answer = answer
        async with self.own.connect() as connection:
            after_first = await take(connection, tables)
            changes = diff(before, after_first)
            first = judge_first_run(answer, watch, changes)
            result = RequestSweep(request, answer.status, first, list(run.events))
            complete = shape(changes) if answer.succeeded else None
            chosen, result.sampled = choose_boundaries(result.timeline, max_boundaries)
            if chosen:
                await self._restore(connection, before, changes, result, chosen[0])
        for number, planned in enumerate(chosen):
            if result.stopped:
                break
            answer, run, watch = await self._run(request, planned.index)
            async with self.own.connect() as connection:
                try:
                    after = await take(connection, tables)
                except SQLAlchemyError as error:
                    self._stop(result, error, planned)
                    break
                faulted = diff(before, after)
                judgement = judge_faulted_run(answer, run, watch, faulted, complete)
                struck = run.struck.sql if run.struck and run.struck.sql != planned.sql else None
                if struck is not None and judgement.outcome is SweepVerdict.OK:
                    judgement = Judgement(
                        SweepVerdict.NOT_REACHED,
                        f"the fault met {struck!r} where the first run had {planned.sql!r}: "
                        "the request does not repeat its statements, so this boundary is untested",
                        judgement.changes,
                    )
                result.boundaries.append(BoundaryResult(planned, answer.status, judgement, struck))
                if number + 1 < len(chosen):
                    await self._restore(connection, before, faulted, result, chosen[number + 1])
                else:  # the next request starts where this one leaves the data with no fault
                    both = faulted + changes
                    await self._restore(connection, after_first, both, result, planned)
        return result

    async def _restore(
        self,
        connection: AsyncConnection,
        snapshot: Snapshot,
        changes: list[Change],
        result: RequestSweep,
        planned: Event,
    ) -> None:
        try:
            await restore(connection, snapshot, {change.table for change in changes})
        except SQLAlchemyError as error:
            self._stop(result, error, planned)

    def _stop(self, result: RequestSweep, error: SQLAlchemyError, planned: Event) -> None:
        result.stopped = _stuck(error, planned)
        self.stuck = True


async def sweep(
    source: AppSource | AppFactory,
    requests: RequestPlan | list[SweepRequest],
    db: str,
    *,
    label: str | None = None,
    max_boundaries: int = DEFAULT_MAX_BOUNDARIES,
) -> SweepResult:
    """Sweep the plan's requests, in order, after its setup requests, against the app `source`
    gives (or a factory builds) on a scratch database. A value a request saves (`save`) comes
    from its run with no fault, and later requests use it as `${name}`."""
    if not isinstance(source, AppSource):
        source = AppSource(factory=source)
    plan = requests if isinstance(requests, RequestPlan) else RequestPlan(list(requests))
    recorder = install()
    started = time.perf_counter()
    async with open_scratch_database(db) as database:
        own = open_own_engine(database.url)
        recorder.exclude(own.sync_engine)
        recorder.expect_database(database.url)
        try:
            async with open_app(source, database.url) as app:
                served = ServedApp(app)
                await served.start()
                result = SweepResult(
                    label or source.label, db, database.display_url, served.kind, max_boundaries
                )
                sweeper = _Sweeper(served, own, recorder)
                try:
                    values: dict[str, Any] = {}
                    for request in plan.setup:
                        resolved = request.resolve(values, setup=True)
                        answer = await sweeper.setup(resolved)
                        values.update(saved_values(resolved, answer.status, answer.body))
                    runs_started = time.perf_counter()
                    for request in plan.requests:
                        try:
                            resolved = request.resolve(values)
                        except UsageError as error:  # a value an earlier request failed to give
                            if not result.requests:
                                raise
                            result.requests.append(_not_run(request, str(error)))
                            continue
                        result.requests.append(await sweeper.sweep_one(resolved, max_boundaries))
                        if sweeper.stuck:
                            break
                        first = sweeper.first_answer
                        if first is not None and first.succeeded:
                            values.update(saved_values(resolved, first.status, first.body))
                    result.runs_s = time.perf_counter() - runs_started
                finally:
                    await served.stop()
                    await _dispose_app_engines(recorder)
        finally:
            recorder.expect_database(None)
            await own.dispose()
            await _dispose_app_engines(recorder)
    result.runs = sweeper.runs
    result.duration_s = time.perf_counter() - started
    return result


def _not_run(request: SweepRequest, reason: str) -> RequestSweep:
    """A request the sweep could not send: it needs a value an earlier request did not save."""
    judgement = Judgement(SweepVerdict.ERROR, f"not run: {reason}", ())
    return RequestSweep(request, None, judgement, [], stopped=f"not run: {reason}")


def _stuck(error: SQLAlchemyError, planned: Event) -> str:
    first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
    return (
        f"stopped at boundary {planned.index}{planned.kind[0].upper()}: the sweep's own "
        f"connection could not read or restore the database ({first_line}); a connection of "
        "the app still holds a lock after the request ended"
    )


async def _dispose_app_engines(recorder: Recorder) -> None:
    """Close the pooled connections the app left (a WSGI app has no shutdown to do it), in a
    greenlet so async drivers can close theirs; the scratch database is about to go."""
    for engine in list(recorder.seen):
        await greenlet_spawn(engine.dispose)
    recorder.seen.clear()
