"""The MariaDB/MySQL column's scratch databases: one per run on the server HARNESS_MARIADB_URL
names (the local server by default), created with a unique `harness_*` name, marked with its
owner and dropped at the end. Nothing else on the server is created, changed or dropped.

Where the incident differs: InnoDB checks a foreign key by taking a shared lock on the parent
row, so a child row inserted by one session against a parent another session has not committed
waits for that session's lock instead of failing at once (as Postgres does). The wait lasts
`innodb_lock_wait_timeout` (50 s by default); the reference app sets it to about a second for
its sessions (reference_app.infrastructure.database), so the case ends with error 1205.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import URL

from scenarios import inputs
from scenarios.scratch import (
    Database,
    ServerUnavailable,
    mask_password,
    orphaned,
    owner_mark,
    say_removed,
    server_required,
)

CONNECT_TIMEOUT_S = 5
ADMIN_LOCK_WAIT_S = 10
LEAK_GRACE_S = 1.0
LEAK_POLL_S = 0.05
KIND = "mariadb"
_NAME = re.compile(r"^harness_[0-9a-f]+$")


class MariaDBUnavailable(ServerUnavailable):
    """The MariaDB/MySQL server could not be reached; the message says how to point at one."""


def server_url() -> URL:
    """The server named by HARNESS_MARIADB_URL, on the async driver (raises inputs.BadInput)."""
    return inputs.check_mariadb_url(os.environ.get(inputs.MARIADB_URL_VARIABLE) or None)


def check_before_run() -> None:
    """Under CI, a server that does not answer fails the run before its first case."""
    url = server_url()
    if server_required() and not inputs.mariadb_answers(url):
        raise MariaDBUnavailable(
            f"nothing answers at {mask_password(url)}; start it or set "
            f"{inputs.MARIADB_URL_VARIABLE}"
        )


def server_version(version: str) -> str:
    """`SELECT VERSION()` as a report cell shows it: '10.11.19-MariaDB-0+deb12u1' is
    'MariaDB 10.11.19', '8.4.3' is 'MySQL 8.4.3'."""
    number = version.split("-", 1)[0]
    return f"MariaDB {number}" if "mariadb" in version.lower() else f"MySQL {number}"


async def admin_connection(server: URL) -> Any:
    """A connection to the server with no database chosen (the URL's database is ignored)."""
    try:
        import aiomysql
    except ImportError as missing:
        raise MariaDBUnavailable(
            "aiomysql is not installed, so MariaDB/MySQL cannot be tested: install the harness "
            "with its mariadb extra (pip install 'two-sessions-harness[mariadb]')"
        ) from missing
    server = server.set(database=None)
    socket_path = server.query.get("unix_socket")
    try:
        return await aiomysql.connect(
            host=server.host or "127.0.0.1",
            port=server.port or 3306,
            user=server.username or "root",
            password=server.password or "",
            unix_socket=socket_path if isinstance(socket_path, str) else None,
            connect_timeout=CONNECT_TIMEOUT_S,
            autocommit=True,
            # Every wait bounded: DROP and CREATE wait at most this long for a metadata lock.
            init_command=f"SET SESSION lock_wait_timeout = {ADMIN_LOCK_WAIT_S}",
        )
    except (OSError, TimeoutError, aiomysql.Error) as error:
        raise MariaDBUnavailable(
            f"cannot reach MariaDB/MySQL at {mask_password(server)} ({type(error).__name__}: "
            f"{error}); start it or set {inputs.MARIADB_URL_VARIABLE} to a server where this "
            "user may create databases, e.g. mysql+aiomysql://user:password@host:3306/"
        ) from error


async def _rows(connection: Any, sql: str, *args: object) -> list[tuple[Any, ...]]:
    async with connection.cursor() as cursor:
        await cursor.execute(sql, args or None)
        return list(await cursor.fetchall())


async def remove_orphans(admin: Any) -> list[str]:
    """Drop every `harness_*` database marked by a run of this host that is not running.

    The mark is the schema's comment (MariaDB >= 10.5); MySQL keeps none, so there a killed
    run's database stays until it is dropped by hand (`harness_*`, never anything else)."""
    try:
        rows = await _rows(
            admin,
            "SELECT SCHEMA_NAME, SCHEMA_COMMENT FROM information_schema.SCHEMATA "
            "WHERE SCHEMA_NAME LIKE 'harness\\_%'",
        )
    except Exception:  # noqa: BLE001 - MySQL: no SCHEMA_COMMENT column, so no marks to read
        return []
    removed: list[str] = []
    for name, comment in rows:
        if _NAME.match(str(name)) and orphaned(comment):
            await drop(admin, str(name))
            removed.append(str(name))
    say_removed("MariaDB", removed)
    return removed


async def drop(admin: Any, name: str) -> None:
    """Drop the scratch database `name`, ending first the connections still using it (as
    Postgres's DROP DATABASE ... WITH (FORCE)): a connection a case leaked with its transaction
    open holds a metadata lock that DROP would otherwise wait for, for a year by default."""
    await end_connections(admin, name)
    await _rows(admin, f"DROP DATABASE IF EXISTS `{name}`")


async def _create(admin: Any, name: str, version: str) -> None:
    """utf8mb4 with a binary collation: every code point stored as sent, compared as bytes,
    as on the other two databases (a case-insensitive default would merge distinct keys)."""
    create = f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    if "mariadb" in version.lower():
        # Marked with its owner: a run killed before its cleanup leaves it to the next run.
        create += " COMMENT %s"
        await _rows(admin, create, owner_mark())
    else:
        await _rows(admin, create)  # MySQL keeps no schema comments


@asynccontextmanager
async def scratch_mariadb(server: URL | None = None) -> AsyncIterator[Database]:
    """A fresh, empty database of this run's own on the server, dropped afterwards."""
    server = server or server_url()
    name = f"harness_{secrets.token_hex(6)}"
    admin = await admin_connection(server)
    try:
        (version,) = (await _rows(admin, "SELECT VERSION()"))[0]
        await remove_orphans(admin)
        await _create(admin, name, str(version))
    finally:
        admin.close()
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        yield Database(KIND, url, server_version(str(version)))
    finally:
        admin = await admin_connection(server)
        try:
            await drop(admin, name)
        finally:
            admin.close()


# -- the janitor's side (scenarios.recovery): what cases left open on a scratch database -------


_ACTIVE_TRANSACTION = re.compile(
    r"^---TRANSACTION [^\n]*ACTIVE[^\n]*\n(?:(?!---TRANSACTION)[^\n]*\n)*?"
    r"(?:MySQL|MariaDB) thread id (\d+)",
    re.MULTILINE,
)


async def _idle_in_transaction(admin: Any, name: str) -> int:
    """Connections to `name` that are idle (`Sleep`) with an InnoDB transaction ACTIVE.

    Read from SHOW ENGINE INNODB STATUS, which is live: information_schema.INNODB_TRX is a
    cache InnoDB refreshes only after 0.1 s without a reader, which side-by-side runs never
    leave it, so it kept showing transactions long ended."""
    idle = {
        int(connection_id)
        for (connection_id,) in await _rows(
            admin,
            "SELECT ID FROM information_schema.PROCESSLIST "
            "WHERE DB = %s AND ID <> CONNECTION_ID() AND COMMAND = 'Sleep'",
            name,
        )
    }
    if not idle:
        return 0
    ((_type, _name, status),) = await _rows(admin, "SHOW ENGINE INNODB STATUS")
    active = {int(thread) for thread in _ACTIVE_TRANSACTION.findall(str(status))}
    return len(idle & active)


async def open_transactions(admin: Any, name: str) -> int:
    """How many other connections to database `name` sit idle in an InnoDB transaction, once
    the app had LEAK_GRACE_S to finish rolling back: a request can answer before its session's
    cleanup has run (InnoDB, unlike Postgres, keeps the transaction a statement failed in)."""
    deadline = time.monotonic() + LEAK_GRACE_S
    while True:
        count = await _idle_in_transaction(admin, name)
        if not count or time.monotonic() >= deadline:
            return count
        await asyncio.sleep(LEAK_POLL_S)


async def end_connections(admin: Any, name: str) -> None:
    """End every other connection to database `name` (what cases left open, rolled back)."""
    for (connection_id,) in await _rows(
        admin,
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()",
        name,
    ):
        with contextlib.suppress(Exception):  # it ended on its own meanwhile
            await _rows(admin, f"KILL {int(connection_id)}")
