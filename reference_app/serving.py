"""The app served in-process, for the adapter, tests and benchmarks: on an engine of its own,
called through a transport that answers the client when a server would (no server, no port),
and emptied between runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from reference_app.api.app import create_app
from reference_app.infrastructure.database import create_engine, create_schema
from reference_app.infrastructure.orm import Base
from reference_app.server_transport import ServerTransport
from reference_app.wirings import SessionModule

# Children before parents, so every DELETE satisfies the foreign keys.
TABLES_IN_DELETE_ORDER = tuple(reversed(Base.metadata.sorted_tables))


@dataclass(frozen=True)
class Served:
    client: httpx.AsyncClient
    engine: AsyncEngine


@asynccontextmanager
async def serve(
    url: str,
    wiring: str | type[SessionModule],
    *,
    base_url: str = "http://reference-app",
    **engine_kwargs: Any,
) -> AsyncIterator[Served]:
    """The app wired as `wiring` on a pooled engine with the app's bounded settings."""
    engine = create_engine(url, **engine_kwargs)
    try:
        await create_schema(engine)
        app = create_app(engine, wiring)
        try:
            transport = ServerTransport(app)
            async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
                yield Served(client, engine)
        finally:
            await app.state.session_module.shutdown()
    finally:
        await engine.dispose()


async def empty_tables(url: str) -> None:
    """Create the schema if needed and DELETE every row, on a connection of its own (never a
    rollback of the app's work, which would hide the bug)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        await create_schema(engine)
        async with engine.begin() as connection:
            for table in TABLES_IN_DELETE_ORDER:
                await connection.execute(delete(table))
    finally:
        await engine.dispose()
