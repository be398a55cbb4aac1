"""Scratch databases of the porting tests' own, and the support desk's sync engines on them.

The support desk's tables live in databases no other test uses; every test starts from empty
tables (DELETE on a connection of its own, never a rollback).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from sqlalchemy import Engine, delete, text
from sqlalchemy.pool import NullPool

from examples.support_desk.adapter import sync_url
from examples.support_desk.database import create_schema, make_engine
from examples.support_desk.orm import Base
from scenarios.databases import (
    Database,
    PostgresUnavailable,
    open_scratch_database,
    postgres_required,
)


@pytest_asyncio.fixture(scope="session")
async def desk_sqlite() -> AsyncIterator[Database]:
    async with open_scratch_database("sqlite") as database:
        yield database


@pytest_asyncio.fixture(scope="session")
async def desk_postgres() -> AsyncIterator[Database]:
    scratch = open_scratch_database("postgresql")
    try:
        database = await scratch.__aenter__()
    except PostgresUnavailable as unavailable:
        if postgres_required():
            pytest.fail(f"PostgreSQL is required under CI: {unavailable}")
        pytest.skip(f"PostgreSQL unavailable: {unavailable}")
    try:
        yield database
    finally:
        await scratch.__aexit__(None, None, None)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def desk_database(request: pytest.FixtureRequest) -> Database:
    """Each test that takes it runs on a SQLite file and on Postgres."""
    fixture = {"sqlite": "desk_sqlite", "postgresql": "desk_postgres"}[request.param]
    return request.getfixturevalue(fixture)  # type: ignore[no-any-return]


@pytest.fixture
def desk_engine(desk_database: Database) -> Iterator[Engine]:
    """The app's own pooled engine on empty tables, on each database."""
    yield from _empty_engine(desk_database)


@pytest.fixture
def desk_engine_sqlite(desk_sqlite: Database) -> Iterator[Engine]:
    """The app's own pooled engine on empty tables, on the SQLite file only."""
    yield from _empty_engine(desk_sqlite)


def _empty_engine(database: Database) -> Iterator[Engine]:
    engine = make_engine(sync_url(database.url))
    try:
        create_schema(engine)
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(delete(table))
        yield engine
    finally:
        engine.dispose()


def count(engine: Engine, table: str) -> int:
    """Rows in `table`, read through a brand-new connection (not the app's pool)."""
    reader = make_engine(engine.url, poolclass=NullPool)
    try:
        with reader.connect() as connection:
            return int(connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
    finally:
        reader.dispose()
