"""The door's run: the app on a scratch database, every write operation through the guard, then
one 2xx request per route (and the requests it needs) through the atomicity sweep."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scenarios.databases import open_scratch_database
from scenarios.routes.driving import Driver, DriveResult, Exchange
from scenarios.routes.replay import Resolver, plan, replay_factory, sweep_request
from scenarios.routes.schema import load_schema, write_operations
from scenarios.routes.verdicts import RouteVerdict, add_sweep, from_guard
from scenarios.sweep import sweep
from scenarios.sweep.app import AppFactory, UsageError, is_asgi

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Limits:
    examples: int = 10  # requests per operation (per pass)
    budget_s: float = 60.0  # the generated requests; the sweep has as long again at most
    max_boundaries: int = 40  # faulted runs per swept request
    seed: int = 0
    sweep: bool = True


@dataclass
class RoutesResult:
    app_factory: str
    db: str
    database_url: str  # masked
    app_kind: str
    limits: Limits
    verdicts: list[RouteVerdict] = field(default_factory=list)
    requests: int = 0
    drive_s: float = 0.0
    sweep_s: float = 0.0
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not any(v.findings for v in self.verdicts)

    @property
    def reached(self) -> int:
        return sum(v.reached for v in self.verdicts)


async def _build(factory: AppFactory, url: str, label: str) -> Any:
    try:
        app = factory(url)
        if inspect.isawaitable(app):
            app = await app
    except UsageError:
        raise
    except Exception as error:
        raise UsageError(
            f"the app factory {label} raised {type(error).__name__}: {error}"
        ) from error
    if not callable(app):
        raise UsageError(f"the app factory returned {type(app).__name__}, not an ASGI or WSGI app")
    return app


def _drive(
    app: Any, headers: dict[str, str], schema_path: str | None, limits: Limits, progress: Progress
) -> tuple[DriveResult, list[Exchange], str]:
    """The generated requests (in a thread of their own: Schemathesis calls are blocking)."""
    try:
        schema = load_schema(app, schema_path, headers)
        operations = write_operations(schema)
        progress(f"{len(operations)} write operation(s) in the schema")
        driver = Driver(
            app,
            headers,
            examples=limits.examples,
            budget_s=limits.budget_s,
            seed=limits.seed,
            progress=progress,
        )
        return driver.run(operations), driver.exchanges, driver.base_path
    finally:
        if is_asgi(app):
            _stop_lifespans(progress)


def _stop_lifespans(progress: Progress) -> None:
    """Schemathesis keeps an ASGI app's lifespan running for the process (its engine open);
    end it before the scratch database goes. Versions before it kept one have nothing to end."""
    try:
        from schemathesis.python.asgi import shutdown_lifespans
    except ImportError:
        return
    try:
        shutdown_lifespans()
    except Exception as error:  # noqa: BLE001 - the app's shutdown failed: worth a line, not a crash
        progress(f"the app's shutdown failed: {type(error).__name__}: {error}")


def _first_success(exchanges: list[Exchange]) -> Exchange | None:
    """The route's request to sweep: the first 2xx, preferring one that carried no values
    (less to replay)."""
    succeeded = [e for e in exchanges if e.succeeded]
    return min(succeeded, key=lambda e: (len(e.uses), e.number), default=None)


async def check_routes(
    factory: AppFactory,
    db: str,
    *,
    label: str,
    headers: dict[str, str] | None = None,
    schema_path: str | None = None,
    limits: Limits | None = None,
    progress: Progress = lambda _line: None,
) -> RoutesResult:
    limits = limits or Limits()
    headers = dict(headers or {})
    started = time.perf_counter()
    async with open_scratch_database(db) as database:
        app = await _build(factory, database.url, label)
        result = RoutesResult(
            label, db, database.display_url, "asgi" if is_asgi(app) else "wsgi", limits
        )
        drive, exchanges, base_path = await asyncio.to_thread(
            _drive, app, headers, schema_path, limits, progress
        )
    result.requests = drive.requests
    result.drive_s = drive.duration_s
    if drive.out_of_time:
        result.notes.append(f"the time budget ({limits.budget_s:.0f} s) ran out")
    if drive.stopped:
        result.notes.append(f"stopped: {drive.stopped}")
    result.verdicts = [from_guard(run) for run in drive.runs]
    if limits.sweep:
        await _sweep_routes(factory, db, headers, result, drive, exchanges, base_path, progress)
    result.duration_s = time.perf_counter() - started
    return result


async def _sweep_routes(
    factory: AppFactory,
    db: str,
    headers: dict[str, str],
    result: RoutesResult,
    drive: DriveResult,
    exchanges: list[Exchange],
    base_path: str,
    progress: Progress,
) -> None:
    targets = [t for run in drive.runs if (t := _first_success(run.exchanges)) is not None]
    if not targets:
        return
    steps, notes = plan(exchanges, targets)
    result.notes += notes
    if not steps:
        return
    progress(f"sweeping {len(steps)} request(s) ({len(targets)} route(s))")
    resolver = Resolver(steps, base_path)
    started = time.perf_counter()
    bound = max(result.limits.budget_s, 30.0)
    try:
        swept = await asyncio.wait_for(
            sweep(
                replay_factory(factory, resolver, headers),
                [sweep_request(step) for step in steps],
                db,
                label=result.app_factory,
                max_boundaries=result.limits.max_boundaries,
            ),
            bound,
        )
    except TimeoutError:
        result.notes.append(f"the sweep did not finish within {bound:.0f} s: no sweep verdicts")
        return
    finally:
        result.sweep_s = time.perf_counter() - started
    by_number = {step.number: done for step, done in zip(steps, swept.requests, strict=False)}
    verdicts = {v.route: v for v in result.verdicts}
    planned = {step.number for step in steps}
    for target in targets:
        if target.number not in planned:
            continue  # left out by the plan, which said why
        done = by_number.get(target.number)
        if done is None:
            result.notes.append(f"{target.route}: not swept (the sweep stopped before it)")
            continue
        add_sweep(verdicts[target.route], done, target.describe())
