"""The run's scratch databases, and the support desk's sync engines on them.

The support desk's tables (threads, posts, thread_memory) live beside the reference app's;
every test starts from empty tables (DELETE on a connection of its own, never a rollback).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, text
from sqlalchemy.pool import NullPool

from examples.support_desk.adapter import sync_url
from examples.support_desk.database import create_schema, make_engine
from examples.support_desk.orm import Base
from scenarios.databases import Database


@pytest.fixture(scope="session")
def desk_sqlite(sqlite_database: Database) -> Database:
    """The run's scratch SQLite file (the support desk's tables live beside the reference app's)."""
    return sqlite_database


@pytest.fixture(scope="session")
def desk_postgres(postgres_database: Database) -> Database:
    """The run's scratch Postgres database: skipped locally when unreachable, fails under CI."""
    return postgres_database


@pytest.fixture
def desk_database(database: Database) -> Database:
    """Each test that takes it runs on a SQLite file and on Postgres."""
    return database


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
