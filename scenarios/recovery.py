"""Nothing an app does crashes a run: between cases the harness takes back every connection a
case left open, names the case that leaked it (`leaked_connection`), and goes on.

A connection left checked out with its transaction open holds SQLite's write lock or Postgres
row locks, so the next case's reset would fail ("database is locked", a lock timeout) and, with
it, the whole run. After each case the harness asks the database itself whether anything still
holds a transaction (Postgres: a backend of the scratch database, other than the harness's own
check, "idle in transaction"; SQLite: the file's write lock cannot be taken) and asks the session
guard where the connection was taken. Then it takes the connections back (on Postgres it
terminates every other backend of the scratch database, which the harness owns), and the rest
of the cases run on a target opened again on a fresh scratch database: an adapter's `open()`
that seeds data never finds its own rows there (docs/porting.md, section 6). Whatever an
adapter's `open()` raises becomes `could not run` for the cases it kept from running.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from scenarios import mariadb
from scenarios.adapter import Target, TargetFactory
from scenarios.databases import CONNECT_TIMEOUT_S, Database, open_scratch_database
from scenarios.outcomes import Outcome, Verdict
from scenarios.redaction import redact
from scenarios.runner import (
    CaseResult,
    judge,
    missing_capabilities,
    run_case_safely,
    skipped_case,
)
from scenarios.scenario import Scenario

if TYPE_CHECKING:
    import asyncpg  # imported when a Postgres run needs it: SQLite-only installs may lack it

# How long the SQLite check waits for the write lock: any longer than the app's busy timeout
# would only slow a run whose cases all finished.
SQLITE_LOCK_PROBE_S = 0.05


def _asyncpg_dsn(database: Database) -> str:
    return make_url(database.url).set(drivername="postgresql").render_as_string(False)


def _sqlite_writable(database: Database) -> bool:
    path = make_url(database.url).database or ""
    connection = sqlite3.connect(path, timeout=SQLITE_LOCK_PROBE_S, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        connection.close()


class Janitor:
    """The harness's own connection to a scratch database: it asks what cases left open and
    takes it back. On Postgres one connection serves every check (and is never terminated)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._connection: asyncpg.Connection | None = None
        self._mariadb: Any = None  # an aiomysql connection to the server, no database chosen

    async def _mariadb_admin(self) -> Any:
        if self._mariadb is None or self._mariadb.closed:
            self._mariadb = await mariadb.admin_connection(make_url(self.database.url))
        return self._mariadb

    async def _postgres(self) -> asyncpg.Connection:
        if self._connection is None or self._connection.is_closed():
            import asyncpg

            self._connection = await asyncpg.connect(
                _asyncpg_dsn(self.database), timeout=CONNECT_TIMEOUT_S
            )
        return self._connection

    async def open_transactions(self) -> int:
        """How many connections still hold a transaction (SQLite: 1 if the write lock is)."""
        if self.database.kind == "postgresql":
            connection = await self._postgres()
            found = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            )
            return int(found)
        if self.database.kind == mariadb.KIND:
            name = make_url(self.database.url).database or ""
            return await mariadb.open_transactions(await self._mariadb_admin(), name)
        return 0 if await asyncio.to_thread(_sqlite_writable, self.database) else 1

    async def reclaim(self) -> bool:
        """Take back what cases left open; False when the SQLite file stays locked."""
        if self.database.kind == "postgresql":
            connection = await self._postgres()
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return True
        if self.database.kind == mariadb.KIND:
            name = make_url(self.database.url).database or ""
            await mariadb.end_connections(await self._mariadb_admin(), name)
            return True
        return await asyncio.to_thread(_sqlite_writable, self.database)

    async def close(self) -> None:
        if self._mariadb is not None:
            self._mariadb.close()
            self._mariadb = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


def _named_leak(result: CaseResult, held: int) -> CaseResult:
    """The case's verdict becomes `leaked_connection`, with where the guard saw it taken."""
    if result.observed == Outcome.LEAKED_CONNECTION.value:
        return result
    what = "connection" if held == 1 else f"{held} connections"
    detail = f"the case left {what} holding a transaction open after its requests ended" + (
        f"; {result.detail}" if result.detail else ""
    )
    return replace(
        result,
        observed=Outcome.LEAKED_CONNECTION.value,
        verdict=judge(Outcome.LEAKED_CONNECTION.value, result.expected),
        detail=detail,
    )


COULD_NOT_RUN = "could not run"


def could_not_run(
    scenario: Scenario, interleaving: Any, wiring: str, db: str, expected: str, reason: str
) -> CaseResult:
    """A case the adapter's own hook (its `open`) kept from running: `error`, always
    `unexpected` (the run fails), with the reason; never `ok`, never a traceback."""
    return CaseResult(
        scenario=scenario.name,
        interleaving=interleaving.id,
        wiring=wiring,
        db=db,
        expected=expected,
        observed=Outcome.ERROR.value,
        verdict=Verdict.UNEXPECTED,
        detail=f"{COULD_NOT_RUN}: {reason}",
        duration_s=0.0,
        guards=scenario.guards,
        steps=interleaving.steps,
    )


def _hook_failed(hook: str, error: BaseException) -> str:
    first = str(error).splitlines()[0] if str(error) else ""
    return redact(
        f"the adapter's {hook} raised {type(error).__name__}" + (f": {first}" if first else "")
    )


async def run_wiring(
    factory: TargetFactory,
    database: Database,
    scenarios: Sequence[Scenario],
    *,
    wiring: str,
    expected_outcome: Callable[[str, str, str, str], str],
    record: Callable[[CaseResult], Any],
) -> None:
    """Every case of one wiring on one database, each ending with a verdict.

    The target is opened once on `database`; after a case that leaves a mess (a connection
    held, an `error`) it is closed and opened again on a fresh scratch database of the same
    kind, so an adapter whose `open()` seeds data (registers its user) meets an empty database
    every time it is opened. An exception from the adapter's `open()` (or its exit) turns the
    cases it kept from running into `could not run` with the reason; the rest still run."""
    async with AsyncExitStack() as stack:
        janitor = Janitor(database)
        stack.push_async_callback(lambda: janitor.close())
        scratch = AsyncExitStack()  # the fresh database a reopen made, dropped at the next
        stack.push_async_callback(lambda: scratch.aclose())
        opened = AsyncExitStack()  # the current target: reopened after a case leaves a mess
        stack.push_async_callback(lambda: opened.aclose())
        target: Target | None = None
        broken: str | None = None  # why the target could not be (re)opened
        try:
            target = await opened.enter_async_context(factory.open(wiring, database))
        except Exception as error:
            broken = _hook_failed("open()", error)
        for scenario in scenarios:
            reason = None if target is None else missing_capabilities(target, scenario)
            for interleaving in scenario.interleavings():
                if reason:
                    record(skipped_case(scenario, interleaving, wiring, database.kind, reason))
                    continue
                expected = expected_outcome(scenario.name, interleaving.id, wiring, database.kind)
                if target is None:
                    why = broken or "the adapter's open() failed"
                    record(
                        could_not_run(scenario, interleaving, wiring, database.kind, expected, why)
                    )
                    continue
                result = await run_case_safely(
                    target,
                    scenario,
                    interleaving,
                    wiring=wiring,
                    db=database.kind,
                    expected=expected,
                )
                held = await janitor.open_transactions()
                if held:
                    result = _named_leak(result, held)
                record(result)
                if not held and result.observed not in _RECLAIM_AFTER:
                    continue
                # Take the connections back, and give the app a fresh pool (a pool whose
                # connections were leaked stays exhausted even once their backends are gone)
                # on a fresh database: what the last `open()` seeded is not there twice.
                target = None
                closing: str | None = None
                try:
                    await opened.aclose()
                except Exception as error:
                    closing = _hook_failed("exit from open()", error)
                try:
                    await janitor.reclaim()
                    await janitor.close()
                    await scratch.aclose()  # the last fresh database of ours (not the caller's)
                    scratch = AsyncExitStack()
                    database = await scratch.enter_async_context(
                        open_scratch_database(database.kind)
                    )
                except Exception as error:  # the server went away: no case can run now
                    reason = str(error).splitlines()[0] if str(error) else ""
                    broken = redact(
                        f"no fresh scratch database to reopen on ({type(error).__name__}: {reason})"
                    )
                    continue
                janitor = Janitor(database)
                opened = AsyncExitStack()
                try:
                    target = await opened.enter_async_context(factory.open(wiring, database))
                except Exception as error:
                    broken = "; ".join(filter(None, [closing, _hook_failed("open()", error)]))


# Outcomes after which connections may be left behind, even when none is in a transaction.
_RECLAIM_AFTER = frozenset({Outcome.LEAKED_CONNECTION.value, Outcome.ERROR.value})
