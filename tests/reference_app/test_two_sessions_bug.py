"""The bug, reproduced the way the seed found it, on both databases."""

from __future__ import annotations

import logging
import re
import uuid

import httpx
import pytest

from benchmarks.audit import read_rows
from reference_app import serving
from reference_app.api.app import create_app
from reference_app.infrastructure.database import SQLITE_BUSY_TIMEOUT_S, create_engine
from scenarios.databases import Database
from tests.reference_app.conftest import post, reference_client


async def test_two_sessions_on_postgres_fails_the_agent_context_fk_and_keeps_nothing(
    postgres_database: Database,
) -> None:
    await serving.empty_tables(postgres_database.url)
    session_id = uuid.uuid4()
    async with reference_client(postgres_database, "two_sessions") as client:
        response = await post(client, session_id, "Hello")
    assert response.status_code == 500
    assert response.json()["code"] == "23503"  # ForeignKeyViolationError, as in the seed
    rows = await read_rows(postgres_database)
    assert rows.messages_of(session_id) == []
    assert session_id not in rows.sessions
    assert not rows.agent_contexts


async def test_two_sessions_on_sqlite_fails_with_the_bounded_lock_error(
    sqlite_database: Database,
) -> None:
    """The wait is bounded by configuration, read back from the app's own connection, not by a
    stopwatch: a wall-clock threshold fails on a busy machine and proves nothing more."""
    await serving.empty_tables(sqlite_database.url)
    session_id = uuid.uuid4()
    async with serving.serve(sqlite_database.url, "two_sessions") as served:
        response = await post(served.client, session_id, "Hello")
        async with served.engine.connect() as connection:
            busy_timeout_ms = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    assert response.status_code == 409
    assert response.json()["code"] == "SQLITE_BUSY"
    assert busy_timeout_ms == round(SQLITE_BUSY_TIMEOUT_S * 1000)
    rows = await read_rows(sqlite_database)
    assert rows.sessions == set()
    assert not rows.messages
    assert not rows.agent_contexts


async def test_two_sessions_acknowledges_a_message_that_a_fresh_connection_cannot_find(
    clean_database: Database,
) -> None:
    """The incident app's "Saved conversation ..." that was not: the lost-write shape on both
    databases."""
    session_id = uuid.uuid4()
    async with reference_client(clean_database, "shared_session") as client:
        assert (await post(client, session_id, "An earlier message")).status_code == 201
    async with reference_client(clean_database, "two_sessions") as client:
        response = await post(client, session_id, "A message that will be lost")
    assert response.status_code == 201
    assert next(m["content"] for m in response.json()["messages"]) == "A message that will be lost"
    rows = await read_rows(clean_database)
    assert [c for _, c, _ in rows.messages_of(session_id)] == [
        "An earlier message",
        "Echo: An earlier message",
    ]


async def test_two_sessions_log_shows_two_database_sessions_in_one_request(
    clean_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    session_id = uuid.uuid4()
    async with reference_client(clean_database, "two_sessions") as client:
        with caplog.at_level(logging.INFO, logger="reference_app"):
            await post(client, session_id, "Hello")
    opened = [r.getMessage() for r in caplog.records if "Request session opened" in r.getMessage()]
    saved = [r.getMessage() for r in caplog.records if "Saved conversation" in r.getMessage()]
    created = [
        r.getMessage() for r in caplog.records if "Session created and committed" in r.getMessage()
    ]
    assert len(opened) == 1
    assert saved
    assert created
    request_label = re.search(r"\[(db#\d+)\]", opened[0])
    repository_label = re.search(r"\[(db#\d+)\]", saved[0])
    assert request_label
    assert repository_label
    assert request_label.group(1) != repository_label.group(1), (
        "the repository saved through a second database session"
    )


async def test_two_sessions_on_a_one_connection_pool_fails_fast_with_pool_timeout(
    clean_database: Database,
) -> None:
    """The bug holds two pooled connections per request; the wait for the second is bounded."""
    engine = create_engine(clean_database.url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        app = create_app(engine, "two_sessions")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await post(client, uuid.uuid4(), "Needs a second connection")
    finally:
        await engine.dispose()
    # The pool's own timeout (0.2 s) ended the wait: that is what `pool_timeout` says.
    assert response.status_code == 503
    assert response.json()["code"] == "pool_timeout"
    assert response.json()["retryable"] is True
    assert not (await read_rows(clean_database)).messages
