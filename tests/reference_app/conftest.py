"""Drive the reference app over HTTP in-process, and read the database back with plain SQL on
a connection of its own (never through the code under test)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from reference_app import serving
from reference_app.application.checkpoints import InjectedFault, checkpoint_hook
from scenarios.databases import Database
from tests.conftest import TableCleaner


@dataclass(frozen=True)
class Rows:
    sessions: set[str]
    messages: list[tuple[str, str, str, int]]  # (session id, role, content, position)
    agent_contexts: list[tuple[str, str | None]]  # (session_db_id, matching sessions.id)

    def messages_of(self, session_id: uuid.UUID) -> list[tuple[str, str, int]]:
        return [(r, c, p) for s, r, c, p in self.messages if s == str(session_id)]


def _uuid(value: object) -> str:
    return str(uuid.UUID(str(value)))


async def fresh_rows(database: Database) -> Rows:
    """What a brand-new connection finds, by plain SQL."""
    engine = create_async_engine(database.url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            sessions = {
                _uuid(v) for v in (await connection.scalars(text("SELECT id FROM sessions")))
            }
            messages = [
                (_uuid(s), r, c, p)
                for s, r, c, p in await connection.execute(
                    text(
                        "SELECT session_id, role, content, position FROM messages ORDER BY position"
                    )
                )
            ]
            contexts = [
                (_uuid(a), None if s is None else _uuid(s))
                for a, s in await connection.execute(
                    text(
                        "SELECT a.session_db_id, s.id FROM agent_contexts a "
                        "LEFT JOIN sessions s ON s.id = a.session_db_id"
                    )
                )
            ]
    finally:
        await engine.dispose()
    return Rows(sessions, messages, contexts)


@asynccontextmanager
async def reference_client(database: Database, wiring: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serving.serve(database.url, wiring) as served:
        yield served.client


@pytest.fixture
async def clean_database(database: Database, table_cleaner: TableCleaner) -> Database:
    """The parametrised database (SQLite, then Postgres), with empty tables."""
    return await table_cleaner.empty(database)


@asynccontextmanager
async def fault_at(point: str) -> AsyncIterator[None]:
    """Make the next requests in this context fail at `point`, as a crash there would."""

    async def hook(reached: str) -> None:
        if reached == point:
            raise InjectedFault(reached)

    token = checkpoint_hook.set(hook)
    try:
        yield
    finally:
        checkpoint_hook.reset(token)


async def post(client: httpx.AsyncClient, session_id: uuid.UUID, content: str) -> httpx.Response:
    return await client.post(f"/sessions/{session_id}/messages", json={"content": content})
