"""Scratch databases for a run: a SQLite file in a temporary folder, and a Postgres database of
the run's own on the server named by HARNESS_PG_URL, dropped at the end.

The harness never creates, changes or drops anything else on that server. With HARNESS_PG_URL
unset and nothing answering at the default address, or with HARNESS_PG_URL=embedded, the server
is a throwaway one the run starts itself (scenarios.embedded_postgres).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from scenarios import embedded_postgres, inputs
from scenarios.inputs import DEFAULT_PG_URL as DEFAULT_PG_URL  # re-exported
from scenarios.inputs import PG_URL_VARIABLE as PG_URL_VARIABLE  # re-exported
from scenarios.inputs import SQLITE_DIR_VARIABLE as SQLITE_DIR_VARIABLE  # re-exported

KINDS = ("sqlite", "postgresql")
CONNECT_TIMEOUT_S = 5.0


class PostgresUnavailable(RuntimeError):
    """The Postgres server could not be reached; the message says how to point at one."""


@dataclass(frozen=True)
class Database:
    kind: str  # "sqlite" or "postgresql"
    url: str  # SQLAlchemy URL, password included: never print it, print `display_url`
    server_version: str = ""  # "PostgreSQL 18.6", "SQLite 3.40.1": recorded in every report cell

    @property
    def display_url(self) -> str:
        return mask_password(self.url)


def mask_password(url: str | URL) -> str:
    """The URL with its password replaced by ***; anything unparsable is hidden whole."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a redactor must not fail: what it cannot parse, it hides
        return "<unparsable database URL>"


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
    """Under CI an unreachable Postgres is an error, not a skip."""
    return bool(os.environ.get("CI"))


# -- who owns a scratch database: a run marks each one, a later run removes orphans -----------

OWNER_MARK = "two-sessions-harness scratch"
_OWNER = re.compile(rf"^{OWNER_MARK}: pid=(\d+) host=(\S+) started=(\d+(?:\.\d+)?)$")
_SQLITE_FOLDER = re.compile(r"^harness-p(\d+)-")


def owner_mark() -> str:
    """What a scratch database says about the run that made it (a COMMENT ON DATABASE)."""
    return f"{OWNER_MARK}: pid={os.getpid()} host={socket.gethostname()} started={time.time():.0f}"


def _process_start(pid: int) -> float | None:
    """When `pid` started (seconds since the epoch), from /proc; None where there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        ticks = float(stat.rsplit(")", 1)[1].split()[19])
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _process_running(pid: int, since: float | None = None) -> bool:
    """Whether `pid` is alive on this host (and, given `since`, started no later: a pid the
    system reused for a newer process does not own an older database)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    if since is None:
        return True
    started = _process_start(pid)
    return started is None or started <= since + 2


def orphaned(comment: str | None) -> bool:
    """A marked scratch database whose run, on this host, is no longer running. An unmarked
    one (another tool's, or an older harness's still running) is never judged an orphan."""
    match = _OWNER.match(comment or "")
    if match is None or match.group(2) != socket.gethostname():
        return False
    return not _process_running(int(match.group(1)), float(match.group(3)))


def _say_removed(kind: str, names: list[str]) -> None:
    if names:
        print(
            f"removed {len(names)} {kind} scratch database(s) left by runs no longer running: "
            + ", ".join(names),
            file=sys.stderr,
        )


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
    _say_removed("PostgreSQL", removed)
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
        if not _process_running(int(match.group(1)), since):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    _say_removed("SQLite", removed)
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
    else:
        raise ValueError(f"unknown database {kind!r}; choose one of: {', '.join(KINDS)}")
