"""Every wait bounded on an engine the app already made: one call an adapter applies.

The pack reports a reproduced bug in well under a second only if no request can wait forever:
Postgres gets `lock_timeout` and `statement_timeout` (per connection, at connect), SQLite a
busy timeout, and SQLite enforces foreign keys only on connections that ask for it (without the
pragma the incident app's FK error never shows). Set through SQLAlchemy's `do_connect` and `connect`
events keyed on the engine's own driver, so it never depends on which driver SQLAlchemy picks
by default for a bare `postgresql://` URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class WaitBounds:
    """The harness's own bounds (the reference app uses the same)."""

    lock_timeout_ms: int = 200
    statement_timeout_ms: int = 5000
    sqlite_busy_timeout_s: float = 0.2
    sqlite_foreign_keys: bool = True


DEFAULT_BOUNDS = WaitBounds()


class UnboundableEngine(ValueError):
    """The engine's driver has no way known to the harness to bound its waits."""


def _postgres_options(bounds: WaitBounds) -> str:
    return (
        f"-c lock_timeout={bounds.lock_timeout_ms} "
        f"-c statement_timeout={bounds.statement_timeout_ms}"
    )


def connect_arguments(driver: str, bounds: WaitBounds = DEFAULT_BOUNDS) -> dict[str, Any]:
    """The connect arguments that bound waits for `driver` (an engine's `dialect.driver`)."""
    if driver == "asyncpg":
        return {
            "server_settings": {
                "lock_timeout": str(bounds.lock_timeout_ms),
                "statement_timeout": str(bounds.statement_timeout_ms),
            }
        }
    if driver in ("psycopg", "psycopg2", "psycopg_async", "psycopg2cffi"):
        return {"options": _postgres_options(bounds)}
    if driver in ("pysqlite", "aiosqlite"):
        return {"timeout": bounds.sqlite_busy_timeout_s}
    raise UnboundableEngine(
        f"cannot bound waits for driver {driver!r}: use asyncpg or psycopg on Postgres, "
        "sqlite3 or aiosqlite on SQLite"
    )


def _pooled_connections(engine: Engine) -> int:
    pool: Any = engine.pool
    count = 0
    for name in ("checkedin", "checkedout"):
        counter = getattr(pool, name, None)
        if callable(counter):
            count += int(counter())
    return count


def bound_waits(engine: AsyncEngine | Engine, bounds: WaitBounds = DEFAULT_BOUNDS) -> None:
    """Bound every wait on connections `engine` opens from now on (sync or async engine).

    Call it before the engine's first connection (in the adapter's `open`, before the app
    serves a request): a connection already pooled keeps its old settings, so that is refused.
    Adds to the arguments the app gave the driver; never replaces them.
    """
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    if _pooled_connections(sync_engine):
        raise RuntimeError(
            "bound_waits() must run before the engine's first connection; "
            "call it in the adapter before the app serves a request, or dispose the engine first"
        )
    driver = sync_engine.dialect.driver
    arguments = connect_arguments(driver, bounds)
    sqlite = sync_engine.dialect.name == "sqlite"

    @event.listens_for(sync_engine, "do_connect")
    def _bounded(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        for key, value in arguments.items():
            if key == "server_settings":
                cparams[key] = {**cparams.get(key, {}), **value}
            elif key == "options" and cparams.get("options"):
                cparams[key] = f"{cparams['options']} {value}"
            else:
                cparams[key] = value

    if sqlite and bounds.sqlite_foreign_keys:
        event.listen(sync_engine, "connect", enable_sqlite_foreign_keys)


def enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    """SQLite checks foreign keys only on connections that ask (outside a transaction)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
