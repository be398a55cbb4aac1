"""The guard on the reference app, driven over HTTP like a client: it names the exact line that
opens the second session in `two_sessions`, on SQLite and Postgres, and says nothing about the
fixed wirings."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from reference_app.serving import serve
from scenarios.databases import Database
from scenarios.guard import Kind, SessionGuard, SessionGuardError, session_guard
from tests.guard.conftest import count_rows, second_session_site


@asynccontextmanager
async def client_for(database: Database, wiring: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(database.url, wiring) as served:
        yield served.client


async def send_first_message(client: httpx.AsyncClient) -> tuple[httpx.Response, SessionGuard]:
    async with session_guard("collect", label="first message", noun="request") as unit:
        response = await client.post(
            f"/sessions/{uuid.uuid4()}/messages", json={"content": "Hello, I need help"}
        )
    return response, unit


async def test_guard_names_the_line_that_opens_the_second_session(
    reference_database: Database,
) -> None:
    async with client_for(reference_database, "two_sessions") as client:
        response, unit = await send_first_message(client)

    assert response.status_code >= 400  # the incident app's failure: FK violation or a lock wait
    extra = [f for f in unit.findings if f.kind is Kind.EXTRA_SESSION]
    assert len(extra) == 1
    assert extra[0].site == second_session_site()
    assert extra[0].sessions == 2
    assert "reference_app/infrastructure/database.py:" in extra[0].message  # the first: get_db
    assert unit.summary.startswith(
        f"2 sessions in one request; the second opened at {second_session_site()}; "
    )


async def test_guard_counts_the_rows_the_second_session_flushed_and_lost(
    reference_database: Database,
) -> None:
    async with client_for(reference_database, "two_sessions") as client:
        _, unit = await send_first_message(client)

    lost = [f for f in unit.findings if f.kind is Kind.LOST_WRITE]
    assert len(lost) == 1
    assert lost[0].site == second_session_site()
    assert dict(lost[0].rows) == {"sessions": 1, "messages": 1}
    assert unit.summary.endswith("; 2 rows flushed and never committed")
    # What the guard says was lost is indeed not in the database.
    assert await count_rows(reference_database, "sessions") == 0
    assert await count_rows(reference_database, "messages") == 0


@pytest.mark.parametrize("wiring", ["shared_session", "commit_in_save", "unit_of_work"])
async def test_guard_is_silent_on_the_fixed_wirings(
    reference_database: Database, wiring: str
) -> None:
    async with client_for(reference_database, wiring) as client:
        response, unit = await send_first_message(client)
        async with session_guard("collect", noun="request") as reading:
            read = await client.get(f"/sessions/{response.json()['session_id']}/messages")

    assert response.status_code == 201
    assert read.status_code == 200
    assert unit.findings == ()
    assert reading.findings == ()
    assert await count_rows(reference_database, "messages") == 2


async def test_raise_mode_fails_the_unit_with_every_finding(reference_database: Database) -> None:
    async with client_for(reference_database, "two_sessions") as client:
        with pytest.raises(SessionGuardError) as raised:
            async with session_guard(label="POST /messages"):
                await client.post(f"/sessions/{uuid.uuid4()}/messages", json={"content": "hi"})

    message = str(raised.value)
    assert message.startswith("session guard (POST /messages): 2 sessions in one unit")
    assert second_session_site() in message
    assert {f.kind for f in raised.value.findings} >= {Kind.EXTRA_SESSION, Kind.LOST_WRITE}
