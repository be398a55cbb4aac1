"""No scratch database outlives its run: each is marked with its owner (pid, host, start), and
the next run removes those whose run is no longer running, with a line saying so. A run killed
with SIGKILL, which runs no cleanup at all, leaves nothing behind once another run starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from scenarios.databases import (
    PostgresUnavailable,
    open_scratch_database,
    orphaned,
    owner_mark,
    postgres_server_url,
)
from tests.conftest import without_postgres

# A run that opens a scratch database, says where, and waits to be killed.
_HOLDER = """
import asyncio, sys
from scenarios.databases import open_scratch_database

async def main():
    async with open_scratch_database(sys.argv[1]) as database:
        print(database.url, flush=True)
        await asyncio.sleep(120)

asyncio.run(main())
"""


def _killed_run(kind: str, env: dict[str, str]) -> str:
    """Start a run, wait for its scratch database, SIGKILL it; the database's URL."""
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER, kind],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        line = process.stdout.readline().strip()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        if not line:
            pytest.fail(f"the run did not open a scratch database: {process.stderr.read()}")
    return line


def test_the_mark_names_this_process_and_a_dead_one_is_an_orphan() -> None:
    mark = owner_mark()
    assert f"pid={os.getpid()}" in mark
    assert not orphaned(mark)  # this run is running
    finished = subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert finished.returncode == 0
    dead = mark.replace(f"pid={os.getpid()}", "pid=999999999")
    assert orphaned(dead)
    assert not orphaned(None)  # unmarked: never judged
    assert not orphaned(mark.replace("host=", "host=elsewhere-"))  # another host's: not ours


async def test_a_killed_runs_postgres_database_is_gone_after_the_next_run(
    capfd: pytest.CaptureFixture[str],
) -> None:
    try:
        server = postgres_server_url()
        async with open_scratch_database("postgresql"):
            pass
    except PostgresUnavailable as unavailable:
        without_postgres(unavailable)
    import asyncpg

    env = {**os.environ, "HARNESS_PG_URL": server.render_as_string(hide_password=False)}
    name = make_url(_killed_run("postgresql", env)).database
    dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        assert await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name)
        async with open_scratch_database("postgresql"):
            pass  # the next run
        left = await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name)
    finally:
        await admin.close()
    assert left == 0
    assert f"scratch database(s) left by runs no longer running: {name}" in capfd.readouterr().err


async def test_a_killed_runs_sqlite_folder_is_gone_after_the_next_run(tmp_path: Path) -> None:
    env = {**os.environ, "HARNESS_SQLITE_DIR": str(tmp_path)}
    path = Path(make_url(_killed_run("sqlite", env)).database or "")
    assert path.parent.exists()
    os.environ["HARNESS_SQLITE_DIR"] = str(tmp_path)
    try:
        async with open_scratch_database("sqlite"):
            pass
    finally:
        del os.environ["HARNESS_SQLITE_DIR"]
    assert not path.parent.exists()
