"""Sync engines with every wait bounded and foreign keys enforced on SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from examples.support_desk.orm import Base

SQLITE_BUSY_TIMEOUT_S = 0.2
PG_LOCK_TIMEOUT_MS = 200
PG_STATEMENT_TIMEOUT_MS = 5000

# Errors a client may retry: a bounded wait ran out, or two requests raced for one key.
RETRYABLE_CODES = frozenset(
    {
        "55P03",
        "57014",
        "40001",
        "40P01",
        "23505",
        "SQLITE_BUSY",
        "SQLITE_LOCKED",
        "SQLITE_BUSY_SNAPSHOT",
        "SQLITE_CONSTRAINT_UNIQUE",
        "SQLITE_CONSTRAINT_PRIMARYKEY",
    }
)


class UnsupportedDatabaseURL(ValueError):
    """The URL names a database this app is not built for."""


def enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    """SQLite checks foreign keys only on connections that ask for it."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str | URL, **engine_kwargs: Any) -> Engine:
    """A pooled engine: SQLite files via pysqlite, Postgres via psycopg (version 3)."""
    parsed = make_url(url)
    if parsed.drivername == "sqlite+pysqlite":
        if parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory":
            raise UnsupportedDatabaseURL(
                "in-memory SQLite shares one connection between sessions; use a file"
            )
        engine = create_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, **engine_kwargs
        )
        event.listen(engine, "connect", enable_sqlite_foreign_keys)
        return engine
    if parsed.drivername == "postgresql+psycopg":
        options = (
            f"-c lock_timeout={PG_LOCK_TIMEOUT_MS} -c statement_timeout={PG_STATEMENT_TIMEOUT_MS}"
        )
        engine_kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, connect_args={"options": options}, **engine_kwargs)
    raise UnsupportedDatabaseURL(
        f"use sqlite+pysqlite:///FILE or postgresql+psycopg://..., got {parsed.drivername!r}"
    )


def create_schema(engine: Engine) -> None:
    Base.metadata.create_all(engine)


def driver_error_code(error: DBAPIError) -> str | None:
    """SQLSTATE from psycopg, the error name from sqlite3."""
    for attribute in ("sqlstate", "sqlite_errorname"):
        code = getattr(error.orig, attribute, None)
        if isinstance(code, str) and code:
            return code
    return None
