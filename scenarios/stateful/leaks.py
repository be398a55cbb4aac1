"""Connections an app leaves open, in a search: named as a finding, then taken back.

A search runs many examples on one open target, and each example starts from `reset()`. An app
that leaves a connection checked out with its transaction open holds SQLite's write lock or
Postgres row locks, so the next example's reset would fail on a locked database and the search
would end in "could not run", or not, depending on which history came first. Instead the
search asks, after every step, what the runner asks after every case (`scenarios.recovery`):
does any connection of the scratch database still hold a transaction? The session guard, one
unit per request, says where a connection that was not returned was checked out. Either makes
the step a `leaked_connection` finding; before the next example, `OpenTarget.take_back`
terminates what was left (Postgres), or moves to a fresh file (SQLite), and reopens the app on a
fresh pool, so every example starts clean and shrinking goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from contextlib import AsyncExitStack

from scenarios.adapter import ChatResponse, Target, TargetFactory
from scenarios.databases import Database, open_scratch_database
from scenarios.guard import Kind, SessionGuard
from scenarios.recovery import Janitor
from scenarios.runner import STEP_TIMEOUT_S


async def guarded_send(sending: Awaitable[ChatResponse], taken: list[str]) -> ChatResponse:
    """Await one request as a session-guard unit of its own; append to `taken` what the guard
    says of each connection the request checked out and did not return (where it was taken).

    Tasks the request started and left running (an `asyncio.create_task` it did not await) are
    part of it: the unit ends when they do (bounded), so a connection such a task still holds
    for a moment is never called leaked, whatever the timing."""
    before = asyncio.all_tasks()
    with SessionGuard("collect", label="search request", noun="request") as guard:
        response = await sending
        started = asyncio.all_tasks() - before - {asyncio.current_task()}
        running = [task for task in started if not task.done()]
        if running:
            await asyncio.wait(running, timeout=STEP_TIMEOUT_S)
    taken += [f.message for f in guard.findings if f.kind is Kind.LEAKED_CONNECTION]
    return response


def held_message(held: int) -> str:
    """The janitor's finding, in the words of the runner's (`scenarios.recovery`)."""
    what = "a connection" if held == 1 else f"{held} connections"
    return f"the step left {what} holding a transaction open after its requests ended"


class OpenTarget:
    """The search's one open target on `database`, and the janitor that watches it.

    `take_back` ends the app (its container's shutdown may close what it kept), terminates the
    scratch database's other backends (Postgres), moves to a fresh scratch file when the old one
    stays locked (SQLite: a handle the harness cannot close), and opens the app again on a fresh
    pool: a pool whose connections were leaked stays exhausted even once their backends are gone.
    """

    def __init__(self, factory: TargetFactory, wiring: str, database: Database) -> None:
        self.factory = factory
        self.wiring = wiring
        self.database = database
        self.janitor = Janitor(database)
        self._app = AsyncExitStack()
        self._spares = AsyncExitStack()  # fresh SQLite files, removed when the search ends
        self._target: Target | None = None

    @property
    def target(self) -> Target:
        if self._target is None:
            raise RuntimeError("the target is not open")
        return self._target

    async def open(self) -> Target:
        self._target = await self._app.enter_async_context(
            self.factory.open(self.wiring, self.database)
        )
        return self._target

    async def held(self) -> int:
        """How many connections still hold a transaction (SQLite: 1 if the write lock is)."""
        return await self.janitor.open_transactions()

    async def take_back(self) -> Target:
        self._target = None
        await self._app.aclose()
        if not await self.janitor.reclaim():
            await self.janitor.close()
            self.database = await self._spares.enter_async_context(
                open_scratch_database(self.database.kind)
            )
            self.janitor = Janitor(self.database)
        self._app = AsyncExitStack()
        return await self.open()

    async def close(self) -> None:
        try:
            await self._app.aclose()
        finally:
            try:
                await self.janitor.close()
            finally:
                await self._spares.aclose()
