"""commit_in_dependency: get_db commits after `yield`, which FastAPI >= 0.118 runs after the
response is sent. The client is told 201 before the commit: lost when the commit fails, not yet
visible to a read sent at once. commit_before_response (`scope="function"`) is its fix.

Every check reads the database through a fresh connection (plain SQL), never through the app.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from benchmarks.audit import read_rows
from reference_app.application.checkpoints import checkpoint_hook
from reference_app.infrastructure.database import create_engine, create_schema
from reference_app.server_transport import late_failures
from scenarios.databases import Database, open_scratch_database
from scenarios.expectations import requirement_met
from tests.reference_app.conftest import fault_at, post, reference_client

# What this module proves is FastAPI's: since 0.118 a dependency's code after `yield` runs after
# the response is sent, and since 0.121 `Depends(..., scope="function")` runs it before. On an
# older FastAPI (the lowest-versions run) both wirings commit before the response, which the
# matrix covers through expected_outcomes.toml's [holds_for].
pytestmark = pytest.mark.skipif(
    not requirement_met("fastapi>=0.121"),
    reason="needs FastAPI >= 0.121 (code after yield after the response; Depends scope)",
)

BOUND_S = 5.0  # every wait below is bounded


@pytest.mark.parametrize("point", ["after_response"])
async def test_commit_in_dependency_answers_201_and_loses_the_rows_when_it_fails_after(
    clean_database: Database, point: str
) -> None:
    existing, new = uuid.uuid4(), uuid.uuid4()
    async with reference_client(clean_database, "commit_in_dependency") as client:
        assert (await post(client, existing, "Earlier")).status_code == 201
        with late_failures() as late:
            async with fault_at(point):
                first = await post(client, existing, "Told it was saved")
                second = await post(client, new, "A new chat, told it was saved")
    assert first.status_code == second.status_code == 201
    assert [m["content"] for m in first.json()["messages"]] == [
        "Told it was saved",
        "Echo: Told it was saved",
    ]
    assert late == ["InjectedFault: fault injected at after_response"] * 2
    rows = await read_rows(clean_database)
    assert [c for _, c, _ in rows.messages_of(existing)] == ["Earlier", "Echo: Earlier"]
    assert new not in rows.sessions
    assert rows.messages_of(new) == []
    assert rows.context_sessions() == [existing]
    assert not rows.orphans


async def test_commit_before_response_keeps_what_it_acknowledged(
    clean_database: Database,
) -> None:
    session_id = uuid.uuid4()
    async with (
        reference_client(clean_database, "commit_before_response") as client,
        fault_at("after_response"),
    ):
        response = await post(client, session_id, "Committed before the 201")
    assert response.status_code == 201
    rows = await read_rows(clean_database)
    assert rows.messages_of(session_id) == [
        ("user", "Committed before the 201", 0),
        ("assistant", "Echo: Committed before the 201", 1),
    ]
    assert rows.context_sessions() == [session_id]
    assert not rows.orphans


@asynccontextmanager
async def held_at(point: str) -> AsyncIterator[tuple[asyncio.Event, asyncio.Event]]:
    """Requests in this context stop at `point` (reached is set) until `release` is set."""
    reached, release = asyncio.Event(), asyncio.Event()

    async def hook(at: str) -> None:
        if at == point:
            reached.set()
            await asyncio.wait_for(release.wait(), BOUND_S)

    token = checkpoint_hook.set(hook)
    try:
        yield reached, release
    finally:
        checkpoint_hook.reset(token)


@pytest.mark.parametrize(
    ("wiring", "visible"), [("commit_in_dependency", False), ("commit_before_response", True)]
)
async def test_a_read_right_after_the_201_sees_the_message_only_when_committed_first(
    clean_database: Database, wiring: str, visible: bool
) -> None:
    session_id = uuid.uuid4()
    async with reference_client(clean_database, wiring) as client:
        assert (await post(client, session_id, "Earlier")).status_code == 201
        async with held_at("after_response") as (reached, release):
            sending = asyncio.create_task(post(client, session_id, "Just acknowledged"))
            await asyncio.wait_for(reached.wait(), BOUND_S)
        # The client has its answer now; the app is held after it. Read as a client would.
        read = await client.get(f"/sessions/{session_id}/messages")
        rows_while_held = await read_rows(clean_database)
        release.set()
        response = await asyncio.wait_for(sending, BOUND_S)
    assert response.status_code == 201
    contents = [m["content"] for m in read.json()["messages"]]
    assert ("Just acknowledged" in contents) is visible
    held = [c for _, c, _ in rows_while_held.messages_of(session_id)]
    assert ("Just acknowledged" in held) is visible
    # Once released, the commit runs: the message was late, not lost.
    after = [c for _, c, _ in (await read_rows(clean_database)).messages_of(session_id)]
    assert "Just acknowledged" in after


async def _deferred_message_fk(url: str) -> None:
    """A schema choice many apps make: the message's FK is checked at commit, not at insert."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        await create_schema(engine)
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "ALTER TABLE messages DROP CONSTRAINT messages_session_id_fkey, "
                    "ADD CONSTRAINT messages_session_id_fkey FOREIGN KEY (session_id) "
                    "REFERENCES sessions (id) DEFERRABLE INITIALLY DEFERRED"
                )
            )
    finally:
        await engine.dispose()


async def _delete_chat(url: str, session_id: uuid.UUID) -> None:
    """Another client deletes the chat (committed) while a message to it is in flight."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            for statement in (
                "DELETE FROM agent_contexts WHERE session_db_id = :id",
                "DELETE FROM messages WHERE session_id = :id",
                "DELETE FROM sessions WHERE id = :id",
            ):
                await connection.execute(text(statement), {"id": session_id})
    finally:
        await engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("wiring", "hold", "status"),
    [
        # The commit runs after the 201: the deferred FK fails there, and the client never hears.
        ("commit_in_dependency", "after_response", 201),
        # The fix commits before answering: the same failure becomes the client's error.
        ("commit_before_response", "at_commit", 500),
    ],
)
async def test_a_deferred_foreign_key_fails_the_commit_after_the_response_on_postgres(
    postgres_database: Database, wiring: str, hold: str, status: int
) -> None:
    del postgres_database  # makes an unreachable server a skip locally, a failure under CI
    session_id = uuid.uuid4()
    async with open_scratch_database("postgresql") as database:  # its schema is altered
        await _deferred_message_fk(database.url)
        async with reference_client(database, wiring) as client:
            assert (await post(client, session_id, "Earlier")).status_code == 201
            with late_failures() as late:
                async with held_at(hold) as (reached, release):
                    sending = asyncio.create_task(post(client, session_id, "Into a deleted chat"))
                    await asyncio.wait_for(reached.wait(), BOUND_S)
                await _delete_chat(database.url, session_id)
                release.set()
                response = await asyncio.wait_for(sending, BOUND_S)
        rows = await read_rows(database)
    assert response.status_code == status
    if status == 201:
        assert len(late) == 1
        assert "ForeignKeyViolationError" in late[0]
    else:
        assert late == []
        assert response.json()["code"] == "23503"
    assert rows.messages_of(session_id) == []
    assert session_id not in rows.sessions
