"""Engine setup: bounded waits, FK enforcement, and URLs the harness refuses."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from reference_app.infrastructure.database import (
    PG_LOCK_TIMEOUT_MS,
    UnsupportedDatabaseURL,
    create_engine,
    create_schema,
    create_session_maker,
)
from reference_app.infrastructure.errors import driver_error_code
from reference_app.infrastructure.orm import AgentContextModel, SessionModel
from reference_app.wirings import module_for
from scenarios.databases import Database


async def test_sqlite_engine_enforces_foreign_keys(sqlite_database: Database) -> None:
    """The canary: without PRAGMA foreign_keys=ON SQLite would accept a dangling reference."""
    engine = create_engine(sqlite_database.url, poolclass=NullPool)
    try:
        await create_schema(engine)
        with pytest.raises(IntegrityError) as raised:
            async with engine.begin() as connection:
                await connection.execute(
                    text("INSERT INTO agent_contexts (session_db_id, payload) VALUES (:id, '{}')"),
                    {"id": uuid.uuid4().hex},
                )
        assert driver_error_code(raised.value) == "SQLITE_CONSTRAINT_FOREIGNKEY"
    finally:
        await engine.dispose()


async def test_postgres_sessions_run_with_bounded_lock_and_statement_timeouts(
    postgres_database: Database,
) -> None:
    engine = create_engine(postgres_database.url)
    try:
        async with engine.connect() as connection:
            lock_timeout = await connection.scalar(text("SHOW lock_timeout"))
            statement_timeout = await connection.scalar(text("SHOW statement_timeout"))
    finally:
        await engine.dispose()
    assert lock_timeout == f"{PG_LOCK_TIMEOUT_MS}ms"
    assert statement_timeout not in ("0", None)


async def test_one_flush_inserts_the_session_before_its_agent_context(database: Database) -> None:
    """Relationships let the unit of work order the inserts; without them this FK can fail
    in the fixed wiring too."""
    engine = create_engine(database.url)
    try:
        await create_schema(engine)
        session_id = uuid.uuid4()
        async with create_session_maker(engine)() as db:
            db.add(AgentContextModel(session_db_id=session_id, payload="{}"))
            db.add(SessionModel(id=session_id))
            await db.commit()
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite://",
        "sqlite+aiosqlite:///:memory:",
        "sqlite+aiosqlite:///file:harness?mode=memory&cache=shared&uri=true",
    ],
)
def test_in_memory_sqlite_is_refused_with_the_reason(url: str) -> None:
    with pytest.raises(UnsupportedDatabaseURL, match="hides the two-session bug"):
        create_engine(url)


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("sqlite:///harness.db", "aiosqlite"),
        ("postgresql+psycopg2://u@h/db", "asyncpg"),
        ("mysql+pymysql://u@h/db", "aiomysql"),
        ("mssql+aioodbc://u@h/db", "unsupported backend"),
    ],
)
def test_urls_the_harness_cannot_test_honestly_are_refused(url: str, complaint: str) -> None:
    with pytest.raises(UnsupportedDatabaseURL, match=complaint):
        create_engine(url)


def test_an_unknown_wiring_is_refused_naming_the_choices() -> None:
    with pytest.raises(
        ValueError,
        match="two_sessions, shared_session, commit_in_save, unit_of_work, commit_in_dependency, "
        "commit_before_response",
    ):
        module_for("three_sessions")
