"""The baseline: the SQL of one request, sent through the raw driver with no ORM and no HTTP.

The statements are the ones the ORM emits for the fixed wirings (captured with engine events),
in the same order, in one transaction, on one reused connection per database, with the app's
bounded waits. A wiring's latency divided by this one is what the ORM, FastAPI and the wiring
cost per request.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Protocol

import aiosqlite
import asyncpg
from sqlalchemy.engine import make_url

from reference_app.infrastructure.database import (
    PG_LOCK_TIMEOUT_MS,
    PG_STATEMENT_TIMEOUT_MS,
    SQLITE_BUSY_TIMEOUT_S,
)
from scenarios.databases import CONNECT_TIMEOUT_S, Database

CONTEXT_PAYLOAD = '{"turns": 1}'


class RawRequest(Protocol):
    async def __call__(self, session_id: uuid.UUID, content: str) -> tuple[int, int]:
        """Store one exchange; return the positions of the user message and the reply."""
        ...


class PostgresRequest:
    SELECT_SESSION = "SELECT sessions.id, sessions.created_at FROM sessions WHERE sessions.id = $1"
    INSERT_SESSION = "INSERT INTO sessions (id, created_at) VALUES ($1, $2)"
    MAX_POSITION = (
        "SELECT max(messages.position) AS max_1 FROM messages WHERE messages.session_id = $1"
    )
    INSERT_MESSAGE = (
        "INSERT INTO messages (session_id, role, content, position) VALUES ($1, $2, $3, $4) "
        "RETURNING messages.id"
    )
    SELECT_CONTEXT = (
        "SELECT agent_contexts.id, agent_contexts.session_db_id, agent_contexts.payload "
        "FROM agent_contexts WHERE agent_contexts.session_db_id = $1"
    )
    INSERT_CONTEXT = (
        "INSERT INTO agent_contexts (session_db_id, payload) VALUES ($1, $2) "
        "RETURNING agent_contexts.id"
    )

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._c = connection

    async def __call__(self, session_id: uuid.UUID, content: str) -> tuple[int, int]:
        c = self._c
        async with c.transaction():
            if await c.fetchrow(self.SELECT_SESSION, session_id) is None:
                await c.execute(self.INSERT_SESSION, session_id, datetime.now(UTC))
            highest = await c.fetchval(self.MAX_POSITION, session_id)
            asked = 0 if highest is None else highest + 1
            await c.fetchval(self.INSERT_MESSAGE, session_id, "user", content, asked)
            if await c.fetchrow(self.SELECT_CONTEXT, session_id) is None:
                await c.fetchval(self.INSERT_CONTEXT, session_id, CONTEXT_PAYLOAD)
            highest = await c.fetchval(self.MAX_POSITION, session_id)
            replied = 0 if highest is None else highest + 1
            await c.fetchval(
                self.INSERT_MESSAGE, session_id, "assistant", f"Echo: {content}", replied
            )
        return asked, replied


class SqliteRequest:
    """aiosqlite, the app's own SQLite driver; UUIDs and times stored as SQLAlchemy stores them."""

    SELECT_SESSION = "SELECT sessions.id, sessions.created_at FROM sessions WHERE sessions.id = ?"
    INSERT_SESSION = "INSERT INTO sessions (id, created_at) VALUES (?, ?)"
    MAX_POSITION = (
        "SELECT max(messages.position) AS max_1 FROM messages WHERE messages.session_id = ?"
    )
    INSERT_MESSAGE = (
        "INSERT INTO messages (session_id, role, content, position) VALUES (?, ?, ?, ?)"
    )
    SELECT_CONTEXT = (
        "SELECT agent_contexts.id, agent_contexts.session_db_id, agent_contexts.payload "
        "FROM agent_contexts WHERE agent_contexts.session_db_id = ?"
    )
    INSERT_CONTEXT = "INSERT INTO agent_contexts (session_db_id, payload) VALUES (?, ?)"

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._c = connection

    async def _one(self, sql: str, *parameters: object) -> tuple[object, ...] | None:
        async with self._c.execute(sql, parameters) as cursor:
            row = await cursor.fetchone()
        return None if row is None else tuple(row)

    async def __call__(self, session_id: uuid.UUID, content: str) -> tuple[int, int]:
        c, key = self._c, session_id.hex
        try:
            if await self._one(self.SELECT_SESSION, key) is None:
                now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                await c.execute(self.INSERT_SESSION, (key, now))
            asked = await self._next_position(key)
            await c.execute(self.INSERT_MESSAGE, (key, "user", content, asked))
            if await self._one(self.SELECT_CONTEXT, key) is None:
                await c.execute(self.INSERT_CONTEXT, (key, CONTEXT_PAYLOAD))
            replied = await self._next_position(key)
            await c.execute(self.INSERT_MESSAGE, (key, "assistant", f"Echo: {content}", replied))
            await c.commit()
        except BaseException:
            await c.rollback()
            raise
        return asked, replied

    async def _next_position(self, key: str) -> int:
        row = await self._one(self.MAX_POSITION, key)
        highest = None if row is None else row[0]
        return highest + 1 if isinstance(highest, int) else 0


@asynccontextmanager
async def raw_request(database: Database) -> AsyncIterator[RawRequest]:
    """One connection, the app's bounded waits, and the one-request function on it."""
    url = make_url(database.url)
    if database.kind == "sqlite":
        assert url.database
        async with aiosqlite.connect(url.database, timeout=SQLITE_BUSY_TIMEOUT_S) as lite:
            await lite.execute("PRAGMA foreign_keys=ON")
            yield SqliteRequest(lite)
        return
    connection = await asyncpg.connect(
        url.set(drivername="postgresql").render_as_string(hide_password=False),
        timeout=CONNECT_TIMEOUT_S,
        server_settings={
            "lock_timeout": str(PG_LOCK_TIMEOUT_MS),
            "statement_timeout": str(PG_STATEMENT_TIMEOUT_MS),
        },
    )
    try:
        yield PostgresRequest(connection)
    finally:
        await connection.close()
