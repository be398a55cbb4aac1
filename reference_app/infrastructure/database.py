"""Engines for the three backends with every wait bounded, and the request's session (`get_db`).

This module creates the session maker, so it is the composition root for sessions: `get_db()`
is the one place below it that is meant to open one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

from reference_app.infrastructure.orm import Base
from reference_app.infrastructure.session_labels import session_label

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_S = 0.2
PG_LOCK_TIMEOUT_MS = 200
# A backstop, not the bug's signal: lock waits end at PG_LOCK_TIMEOUT_MS. At 5 s, a loaded
# 2-core machine once timed out a connection's first `select version()` (a stress run of the
# zoo), so the case "could not run"; 30 s still bounds every statement.
PG_STATEMENT_TIMEOUT_MS = 30_000
POOL_TIMEOUT_S = 5.0  # waiting for a free pooled connection is bounded too
# MariaDB/MySQL: InnoDB's row lock wait (whole seconds, 1 at least; the server's default is 50,
# the incident's 50-second hang), the metadata lock wait, and (MariaDB only, in an executable
# comment MySQL skips) a statement time limit as the backstop PG_STATEMENT_TIMEOUT_MS is.
MYSQL_LOCK_WAIT_TIMEOUT_S = 1
MYSQL_METADATA_LOCK_WAIT_S = 5
MYSQL_STATEMENT_TIMEOUT_S = 30
MYSQL_INIT_COMMAND = (
    f"SET SESSION innodb_lock_wait_timeout = {MYSQL_LOCK_WAIT_TIMEOUT_S}, "
    f"SESSION lock_wait_timeout = {MYSQL_METADATA_LOCK_WAIT_S}"
    f"/*M!, SESSION max_statement_time = {MYSQL_STATEMENT_TIMEOUT_S} */"
)


class UnsupportedDatabaseURL(ValueError):
    """The URL names a database the harness cannot test honestly."""


def _check_url(url: URL) -> None:
    if url.get_backend_name() == "sqlite":
        if url.get_driver_name() != "aiosqlite":
            raise UnsupportedDatabaseURL(f"SQLite URLs must use aiosqlite, got {url.drivername!r}")
        database = url.database or ""
        if database in ("", ":memory:") or url.query.get("mode") == "memory":
            raise UnsupportedDatabaseURL(
                "in-memory SQLite is refused: it gives every session the same connection, which "
                "hides the two-session bug; use a file, e.g. sqlite+aiosqlite:///./harness.db"
            )
    elif url.get_backend_name() == "postgresql":
        if url.get_driver_name() != "asyncpg":
            raise UnsupportedDatabaseURL(
                f"PostgreSQL URLs must use asyncpg, got {url.drivername!r}"
            )
    elif url.get_backend_name() in ("mysql", "mariadb"):
        if url.get_driver_name() != "aiomysql":
            raise UnsupportedDatabaseURL(
                f"MariaDB/MySQL URLs must use aiomysql, got {url.drivername!r}"
            )
    else:
        raise UnsupportedDatabaseURL(
            f"unsupported backend {url.get_backend_name()!r}: use SQLite (aiosqlite), "
            "PostgreSQL (asyncpg) or MariaDB/MySQL (aiomysql)"
        )


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str | URL, **engine_kwargs: Any) -> AsyncEngine:
    """An engine with separate pooled connections and bounded waits on each backend."""
    parsed = make_url(url)
    _check_url(parsed)
    if "poolclass" not in engine_kwargs:
        # SQLAlchemy 2.0 gives aiosqlite files a NullPool, 2.1 a queue pool: name it, so the
        # app pools (and bounds the wait for a free connection) the same on both.
        engine_kwargs["poolclass"] = AsyncAdaptedQueuePool
        engine_kwargs.setdefault("pool_timeout", POOL_TIMEOUT_S)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, **engine_kwargs
        )
        event.listen(engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    if parsed.get_backend_name() in ("mysql", "mariadb"):
        # Every connection bounds its waits before its first statement (aiomysql's init_command).
        # No pre-ping: SQLAlchemy < 2.0.50's aiomysql adapter fails every ping once PyMySQL is
        # >= 1.2 (sqlalchemy#13306), and a connection the harness killed is never reused (the
        # target is reopened on fresh engines after a reclaim).
        return create_async_engine(
            parsed,
            connect_args={"init_command": MYSQL_INIT_COMMAND, "connect_timeout": 5},
            **engine_kwargs,
        )
    engine_kwargs.setdefault("pool_pre_ping", True)
    server_settings = {
        "lock_timeout": str(PG_LOCK_TIMEOUT_MS),
        "statement_timeout": str(PG_STATEMENT_TIMEOUT_MS),
    }
    return create_async_engine(
        parsed, connect_args={"server_settings": server_settings}, **engine_kwargs
    )


def create_session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session (the seed's Session A)."""
    session_maker: async_sessionmaker[AsyncSession] = request.app.state.session_maker
    async with session_maker() as db:
        log.info("Request session opened [%s]", session_label(db))
        yield db
