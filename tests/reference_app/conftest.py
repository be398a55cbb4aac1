"""Drive the reference app over HTTP in-process; the tests read the database back with plain SQL
on a connection of its own (`benchmarks.audit.read_rows`, never through the code under test)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from reference_app import serving
from reference_app.application.checkpoints import InjectedFault, checkpoint_hook
from scenarios.databases import Database
from tests.conftest import TableCleaner


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
