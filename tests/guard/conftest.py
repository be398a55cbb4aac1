"""Helpers for the guard's tests: where the reference app opens its second session, and plain
SQL on a connection of its own to check what the guard claims."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import reference_app
from scenarios.databases import Database
from tests.conftest import TableCleaner

TWO_SESSIONS_FILE = Path(reference_app.__file__).parent / "wirings" / "two_sessions.py"


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the only line in `path` containing `needle`."""
    lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    assert len(lines) == 1, f"{needle!r} found on lines {lines} of {path}"
    return lines[0]


def second_session_site() -> str:
    """`reference_app/wirings/two_sessions.py:LINE` of `self._session_maker()`, from the source."""
    line = line_of(TWO_SESSIONS_FILE, "self._session_maker()")
    return f"reference_app/wirings/two_sessions.py:{line}"


async def count_rows(database: Database, table: str) -> int:
    engine = create_async_engine(database.url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
    finally:
        await engine.dispose()


@pytest.fixture
async def reference_database(database: Database, table_cleaner: TableCleaner) -> Database:
    """The parametrised database (SQLite, then Postgres) with the reference schema, emptied."""
    return await table_cleaner.empty(database)
