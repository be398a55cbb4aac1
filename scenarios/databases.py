"""Scratch databases for a run: a SQLite file in a temporary folder, a Postgres database of
the run's own on the server named by HARNESS_PG_URL, and a MariaDB/MySQL one on the server named
by HARNESS_MARIADB_URL (scenarios.mariadb), each dropped at the end.

The harness never creates, changes or drops anything else on those servers. With HARNESS_PG_URL
unset and nothing answering at the default address, or with HARNESS_PG_URL=embedded, the server
is a throwaway one the run starts itself (scenarios.embedded_postgres).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from scenarios import embedded_postgres, inputs, mariadb
from scenarios.inputs import DEFAULT_PG_URL as DEFAULT_PG_URL  # re-exported
from scenarios.inputs import PG_URL_VARIABLE as PG_URL_VARIABLE  # re-exported
from scenarios.inputs import SQLITE_DIR_VARIABLE as SQLITE_DIR_VARIABLE  # re-exported
from scenarios.scratch import Database as Database  # re-exported
from scenarios.scratch import ServerUnavailable as ServerUnavailable  # re-exported
from scenarios.scratch import mask_password as mask_password  # re-exported
from scenarios.scratch import orphaned as orphaned  # re-exported
from scenarios.scratch import owner_mark as owner_mark  # re-exported
from scenarios.scratch import process_running, say_removed, server_required

KINDS = ("sqlite", "postgresql", "mariadb")
_SQLITE_FOLDER = re.compile(r"^harness-p(\d+)-")
CONNECT_TIMEOUT_S = 5.0


class PostgresUnavailable(ServerUnavailable):
    """The Postgres server could not be reached; the message says how to point at one."""


def postgres_server_url() -> URL:
    """The server named by HARNESS_PG_URL (raises inputs.BadInput when it is not a URL).

    `embedded` starts the run's own throwaway server; so does an unset variable when nothing
    answers at the default address and the extra is installed. A URL that was set is never
    replaced: when it does not answer, the cells are skipped (an error under CI)."""
    configured = os.environ.get(PG_URL_VARIABLE) or None
    url = inputs.check_pg_url(configured)
    if url is None:
        return _embedded_server_url()
    if configured is None and embedded_postgres.available() and not inputs.postgres_answers(url):
        return _embedded_server_url()
    return url


def _embedded_server_url() -> URL:
    try:
        return embedded_postgres.shared_server().url
    except embedded_postgres.EmbeddedPostgresError as error:
        raise PostgresUnavailable(str(error)) from error


def check_postgres_before_run() -> None:
    """Under CI, a server that does not answer fails the run before its first case."""
    url = postgres_server_url()
    if postgres_required() and not inputs.postgres_answers(url):
        raise PostgresUnavailable(
            f"nothing answers at {mask_password(url)}; start it or set {PG_URL_VARIABLE}"
        )


def postgres_required() -> bool:
    """Under CI an unreachable Postgres is an error, not a skip (as any server: server_required)."""
    return server_required()


async def remove_orphans_postgres(admin: Any) -> list[str]:
    """Drop every `harness_*` database marked by a run of this host that is not running."""
    rows = await admin.fetch(
        "SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database "
        "WHERE datname LIKE 'harness\\_%'"
    )
    removed: list[str] = []
    for row in rows:
        if orphaned(row["comment"]):
            await admin.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
            removed.append(str(row["datname"]))
    say_removed("PostgreSQL", removed)
    return removed


def remove_orphans_sqlite(directory: Path | None) -> list[str]:
    """Remove `harness-p<pid>-*` folders of runs of this host that are not running."""
    folder = Path(directory or tempfile.gettempdir())
    removed: list[str] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _SQLITE_FOLDER.match(entry.name)
        if match is None or not entry.is_dir():
            continue
        try:
            since = entry.stat().st_mtime
        except OSError:
            continue
        if not process_running(int(match.group(1)), since):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    say_removed("SQLite", removed)
    return removed


def _asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin_connection(server: URL) -> Any:
    try:
        import asyncpg
    except ImportError as missing:
        raise PostgresUnavailable(
            "asyncpg is not installed, so Postgres cannot be tested: install the harness "
            "with its postgresql extra (pip install 'two-sessions-harness[postgresql]')"
        ) from missing
    try:
        return await asyncpg.connect(_asyncpg_dsn(server), timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        raise PostgresUnavailable(
            f"cannot reach PostgreSQL at {mask_password(server)} ({type(error).__name__}: "
            f"{error}); start it or set {PG_URL_VARIABLE} to a server where this user may "
            "create databases, e.g. postgresql+asyncpg://user:password@host:5432/postgres"
        ) from error


@asynccontextmanager
async def scratch_postgres(server: URL | None = None) -> AsyncIterator[Database]:
    server = server or postgres_server_url()
    name = f"harness_{secrets.token_hex(6)}"
    admin = await _admin_connection(server)
    try:
        version = f"PostgreSQL {await admin.fetchval('SHOW server_version')}"
        await remove_orphans_postgres(admin)
        await admin.execute(f'CREATE DATABASE "{name}"')
        # Marked with its owner: a run killed before its cleanup leaves it to the next run.
        mark = owner_mark().replace("'", "''")
        await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{mark}'")
        # A scratch database need not survive a crash: commits skip the WAL flush wait.
        # Visibility and locking, which the bug is about, are unchanged.
        await admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    finally:
        await admin.close()
    try:
        yield Database("postgresql", server.set(database=name).render_as_string(False), version)
    finally:
        admin = await _admin_connection(server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _sqlite_directory() -> Path | None:
    chosen = os.environ.get(SQLITE_DIR_VARIABLE)
    if chosen:
        return inputs.check_existing_folder(SQLITE_DIR_VARIABLE, chosen)
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


@asynccontextmanager
async def scratch_sqlite(directory: Path | None = None) -> AsyncIterator[Database]:
    """A real file, opened by separate connections with real file locks; on a RAM file system
    when there is one (HARNESS_SQLITE_DIR, else /dev/shm), since fsync speed proves nothing."""
    directory = directory or _sqlite_directory()
    remove_orphans_sqlite(directory)
    with tempfile.TemporaryDirectory(prefix=f"harness-p{os.getpid()}-", dir=directory) as folder:
        path = Path(folder) / "harness.sqlite3"
        yield Database("sqlite", f"sqlite+aiosqlite:///{path}", f"SQLite {sqlite3.sqlite_version}")


@asynccontextmanager
async def open_scratch_database(kind: str) -> AsyncIterator[Database]:
    """A fresh, empty database of `kind` for this run, removed afterwards."""
    if kind == "sqlite":
        async with scratch_sqlite() as database:
            yield database
    elif kind == "postgresql":
        async with scratch_postgres() as database:
            yield database
    elif kind == "mariadb":
        async with mariadb.scratch_mariadb() as database:
            yield database
    else:
        raise ValueError(f"unknown database {kind!r}; choose one of: {', '.join(KINDS)}")
