"""The database goes away mid-request: Postgres kills the request's connection, or another
process holds SQLite's write lock. The request fails clearly and within its bound, nothing of it
persists, and the app recovers without a restart."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.audit import read_rows
from benchmarks.load import seed_history, send_one, serving
from reference_app.application.checkpoints import checkpoint_hook
from reference_app.infrastructure.database import SQLITE_BUSY_TIMEOUT_S
from reference_app.serving import empty_tables
from scenarios.adapter import POINTS
from scenarios.databases import Database

FIXED = ["shared_session", "unit_of_work"]
STEP_LIMIT_S = 10.0  # every wait on the other side (a pause, a subprocess, a kill) is bounded


@asynccontextmanager
async def admin_connection(database: Database) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection to the same scratch database, outside the app's pool."""
    dsn = make_url(database.url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(dsn, timeout=STEP_LIMIT_S)
    try:
        yield connection
    finally:
        await connection.close()


class PauseAt:
    """A checkpoint hook that holds the request at `point` until released."""

    def __init__(self, point: str) -> None:
        self.point = point
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, reached: str) -> None:
        if reached == self.point:
            self.reached.set()
            await asyncio.wait_for(self.release.wait(), STEP_LIMIT_S)


async def _post_paused(
    client: httpx.AsyncClient, session_id: uuid.UUID, pause: PauseAt
) -> httpx.Response:
    checkpoint_hook.set(pause)  # this task's own context: no other request pauses
    return await client.post(
        f"/sessions/{session_id}/messages", json={"content": "killed mid-request"}
    )


class ConnectCounter:
    """How many DBAPI connections the engine has opened: a new one proves a reconnect."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.opened = 0
        event.listen(engine.sync_engine, "connect", self._connected)

    def _connected(self, *_args: object) -> None:
        self.opened += 1


@pytest.mark.postgres
@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("wiring", FIXED)
async def test_postgres_connection_killed_mid_request_fails_clearly_and_the_next_reconnects(
    postgres_database: Database, wiring: str, point: str
) -> None:
    database = postgres_database
    await empty_tables(database.url)
    session_id = uuid.uuid4()
    async with serving(database, wiring) as app:
        connects = ConnectCounter(app.engine)
        assert (await send_one(app.client, 0, session_id, "before the outage")).acknowledged
        before = await read_rows(database)
        pause = PauseAt(point)
        request = asyncio.create_task(_post_paused(app.client, session_id, pause))
        try:
            await asyncio.wait_for(pause.reached.wait(), STEP_LIMIT_S)
            async with admin_connection(database) as admin:
                # The paused request is the only one holding an open transaction here.
                backends = await admin.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state = 'idle in transaction'"
                )
                assert len(backends) == 1, backends
                terminated = await admin.fetchval(
                    "SELECT pg_terminate_backend($1, $2)", backends[0]["pid"], 5000
                )
                assert terminated is True
        finally:
            pause.release.set()
        response = await asyncio.wait_for(request, STEP_LIMIT_S)
        assert response.status_code == 503
        assert response.json()["code"] == "database_disconnected"
        assert "connection was lost" in response.json()["detail"]
        assert (await read_rows(database)).contents() == before.contents()

        opened = connects.opened
        assert (await send_one(app.client, 2, session_id, "after the outage")).acknowledged
        assert connects.opened > opened
    rows = await read_rows(database)
    assert [c for _, c, _ in rows.messages_of(session_id)] == [
        "before the outage",
        "Echo: before the outage",
        "after the outage",
        "Echo: after the outage",
    ]


@pytest.mark.postgres
@pytest.mark.parametrize(
    "pre_ping", [True, pytest.param(False, id="control-without-pre-ping")], ids=str
)
async def test_pool_pre_ping_replaces_a_pooled_connection_the_server_killed(
    postgres_database: Database, pre_ping: bool
) -> None:
    """The app's engine pings before reuse; the control without it shows the kill is real."""
    database = postgres_database
    await empty_tables(database.url)
    session_id = uuid.uuid4()
    async with serving(database, "unit_of_work", pool_pre_ping=pre_ping) as app:
        assert (await send_one(app.client, 0, session_id, "before")).acknowledged
        async with admin_connection(database) as admin:
            killed = await admin.fetch(
                "SELECT pg_terminate_backend(pid, 5000) AS done FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        assert [row["done"] for row in killed] == [True]  # the idle pooled connection
        next_request = await send_one(app.client, 1, session_id, "after")
        if pre_ping:
            assert next_request.acknowledged
        else:
            assert (next_request.status, next_request.code) == (503, "database_disconnected")
            assert (await send_one(app.client, 2, session_id, "after")).acknowledged


# Holds SQLite's write lock (BEGIN IMMEDIATE) from another process until told on stdin, or
# until its own time limit, so a crashed test never leaves it behind.
LOCK_HOLDER = """
import select, sqlite3, sys
connection = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
select.select([sys.stdin], [], [], float(sys.argv[2]))
connection.execute("ROLLBACK")
connection.close()
print("released", flush=True)
"""


async def busy_timeout_ms(engine: AsyncEngine) -> int:
    """SQLite's busy timeout as the app's connections have it: the bound on a lock wait."""
    async with engine.connect() as connection:
        return int((await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar_one())


@asynccontextmanager
async def write_lock_held_by_another_process(
    path: str,
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Yield once the other process holds the lock; the yielded function releases it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LOCK_HOLDER,
        path,
        str(STEP_LIMIT_S * 3),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )

    async def release() -> None:
        out, err = await asyncio.wait_for(process.communicate(b"release\n"), STEP_LIMIT_S)
        assert out.endswith(b"released\n"), (out, err)
        assert process.returncode == 0, err

    try:
        assert process.stdout is not None
        ready = await asyncio.wait_for(process.stdout.readline(), STEP_LIMIT_S)
        assert ready == b"locked\n", ready
        yield release
    finally:
        if process.returncode is None:
            process.kill()
            await asyncio.wait_for(process.communicate(), STEP_LIMIT_S)


@pytest.mark.parametrize("wiring", FIXED)
async def test_sqlite_write_lock_held_by_another_process_fails_within_the_bound_then_clears(
    sqlite_database: Database, wiring: str
) -> None:
    database = sqlite_database
    await empty_tables(database.url)
    existing, new = uuid.uuid4(), uuid.uuid4()
    await seed_history(database, [existing])
    path = make_url(database.url).database
    assert path
    async with serving(database, wiring) as app:
        async with write_lock_held_by_another_process(path) as release:
            before = await read_rows(database)  # readers are not blocked by the writer's lock
            locked_out = [
                await send_one(app.client, 0, existing, "while locked"),
                await send_one(app.client, 1, new, "while locked, new chat"),
            ]
            await release()
        assert (await read_rows(database)).contents() == before.contents()
        after = [
            await send_one(app.client, 2, existing, "after the lock"),
            await send_one(app.client, 3, new, "after the lock, new chat"),
        ]
        # Each request waited out one busy timeout (SQLITE_BUSY), not the driver's default 5 s:
        # the configured bound is read back from the app's connection rather than timed. Read
        # while the app is served: after `serving` the engine is disposed, and a connection
        # taken from it then would stay in its new pool, never closed (aiosqlite's
        # ResourceWarning in whichever later test the garbage collector runs in).
        busy_timeout = await busy_timeout_ms(app.engine)
    for response in locked_out:
        assert (response.status, response.code, response.retryable) == (409, "SQLITE_BUSY", True)
    assert busy_timeout == round(SQLITE_BUSY_TIMEOUT_S * 1000)
    assert all(response.acknowledged for response in after)
    rows = await read_rows(database)
    assert [c for r, c, _ in rows.messages_of(existing) if r == "user"] == [
        "seeded question",
        "after the lock",
    ]
    assert [c for r, c, _ in rows.messages_of(new) if r == "user"] == ["after the lock, new chat"]
