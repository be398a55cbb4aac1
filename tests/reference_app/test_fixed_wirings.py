"""The fixes: one request, one transaction; a failure rolls back all of it."""

from __future__ import annotations

import logging
import re
import uuid

import pytest

from benchmarks.audit import read_rows
from scenarios.databases import Database
from tests.reference_app.conftest import fault_at, post, reference_client

FIXED = ["shared_session", "unit_of_work"]


@pytest.mark.parametrize("wiring", FIXED)
async def test_fixed_wiring_persists_session_messages_and_agent_context(
    clean_database: Database, wiring: str
) -> None:
    session_id = uuid.uuid4()
    async with reference_client(clean_database, wiring) as client:
        response = await post(client, session_id, "Hello, I need help")
    assert response.status_code == 201
    rows = await read_rows(clean_database)
    assert session_id in rows.sessions
    assert rows.messages_of(session_id) == [
        ("user", "Hello, I need help", 0),
        ("assistant", "Echo: Hello, I need help", 1),
    ]
    assert rows.context_sessions() == [session_id]
    assert not rows.orphans  # the FK resolves


@pytest.mark.parametrize("wiring", FIXED)
@pytest.mark.parametrize(
    "point", ["after_user_message", "after_agent_context", "after_reply", "at_commit"]
)
async def test_fixed_wiring_rolls_back_everything_on_a_failure_after_save(
    clean_database: Database, wiring: str, point: str
) -> None:
    existing, new = uuid.uuid4(), uuid.uuid4()
    async with reference_client(clean_database, wiring) as client:
        assert (await post(client, existing, "Earlier")).status_code == 201
        async with fault_at(point):
            first = await post(client, existing, "Fails in an existing chat")
            second = await post(client, new, "Fails in a new chat")
    assert first.status_code == second.status_code == 500
    assert first.json()["code"] == "injected_fault"
    rows = await read_rows(clean_database)
    assert [c for _, c, _ in rows.messages_of(existing)] == ["Earlier", "Echo: Earlier"]
    assert new not in rows.sessions
    assert rows.messages_of(new) == []
    assert rows.context_sessions() == [existing]
    assert not rows.orphans


@pytest.mark.parametrize("wiring", FIXED)
async def test_fixed_wiring_log_shows_one_database_session_per_request(
    clean_database: Database, wiring: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with reference_client(clean_database, wiring) as client:
        with caplog.at_level(logging.INFO, logger="reference_app"):
            await post(client, uuid.uuid4(), "Hello")
    labels = {
        match.group(1)
        for record in caplog.records
        if (match := re.search(r"\[(db#\d+)\]", record.getMessage()))
    }
    assert len(labels) == 1, labels


async def test_commit_in_save_persists_on_the_happy_path(clean_database: Database) -> None:
    session_id = uuid.uuid4()
    async with reference_client(clean_database, "commit_in_save") as client:
        assert (await post(client, session_id, "Hello")).status_code == 201
    rows = await read_rows(clean_database)
    assert rows.messages_of(session_id) == [("user", "Hello", 0), ("assistant", "Echo: Hello", 1)]
    assert rows.context_sessions() == [session_id]
    assert not rows.orphans


async def test_commit_in_save_leaves_a_partial_commit_when_a_later_step_fails(
    clean_database: Database,
) -> None:
    """The known flaw of fix 2, asserted: rows saved before the failure stay committed."""
    session_id = uuid.uuid4()
    async with (
        reference_client(clean_database, "commit_in_save") as client,
        fault_at("after_reply"),
    ):
        response = await post(client, session_id, "Fails after the reply is saved")
    assert response.status_code == 500
    rows = await read_rows(clean_database)
    assert session_id in rows.sessions
    assert rows.messages_of(session_id) == [
        ("user", "Fails after the reply is saved", 0),
        ("assistant", "Echo: Fails after the reply is saved", 1),
    ]
