"""Every wait bounded on an engine the app already made: one call an adapter applies.

The pack reports a reproduced bug in well under a second only if no request can wait forever:
Postgres gets `lock_timeout` and `statement_timeout` (per connection, at connect), SQLite a busy
timeout, and SQLite enforces foreign keys only on connections that ask for it (without the pragma
the incident app's FK error never shows). MariaDB/MySQL waits `innodb_lock_wait_timeout` (50 s by
default) for a row lock, and the incident app's bug holds one: a child row's foreign key check
waits for the other session's uncommitted parent; each connection gets a lock wait of about a
second and a statement time limit. Set through SQLAlchemy's `do_connect` and `connect` events keyed
on the engine's own driver, so it never depends on which driver SQLAlchemy picks by default for a
bare `postgresql://` or `mysql://` URL.
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
    # InnoDB counts whole seconds, and 1 is the least that still waits (0 is NOWAIT on MariaDB).
    mysql_lock_wait_timeout_s: int = 1


DEFAULT_BOUNDS = WaitBounds()
# SQLAlchemy's names of the MariaDB/MySQL drivers whose waits the harness bounds (each tried on
# MariaDB 10.11 by tests/toolkit).
MYSQL_DRIVERS = frozenset({"aiomysql", "asyncmy", "pymysql", "mysqldb"})


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
    if driver in MYSQL_DRIVERS:
        return {"init_command": mysql_lock_waits(bounds)}
    raise UnboundableEngine(
        f"cannot bound waits for driver {driver!r}: use asyncpg or psycopg on Postgres, "
        "sqlite3 or aiosqlite on SQLite, aiomysql, asyncmy, PyMySQL or mysqlclient on "
        "MariaDB/MySQL"
    )


def mysql_lock_waits(bounds: WaitBounds = DEFAULT_BOUNDS) -> str:
    """The statement that bounds a MariaDB/MySQL connection's lock waits: row locks (InnoDB,
    error 1205) and metadata locks (DDL), the same on both servers."""
    seconds = max(1, bounds.mysql_lock_wait_timeout_s)
    return f"SET SESSION innodb_lock_wait_timeout = {seconds}, lock_wait_timeout = {seconds}"


def mysql_statement_limit(version: str, bounds: WaitBounds = DEFAULT_BOUNDS) -> str:
    """The statement that bounds a statement's run time: MariaDB's `max_statement_time`
    (seconds, every statement, error 1969), MySQL's `max_execution_time` (milliseconds, SELECT
    only, error 3024). `version` is the server's `SELECT VERSION()`."""
    if "mariadb" in version.lower():
        return f"SET SESSION max_statement_time = {bounds.statement_timeout_ms / 1000:g}"
    return f"SET SESSION max_execution_time = {bounds.statement_timeout_ms}"


def bound_mysql_connection(
    dbapi_connection: Any, bounds: WaitBounds = DEFAULT_BOUNDS, *, statements: bool = True
) -> None:
    """Bound the waits of one MariaDB/MySQL DB-API connection (sync, or SQLAlchemy's adapted
    async one inside its greenlet); with `statements`, its statements' run time as well."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(mysql_lock_waits(bounds))
        if statements:
            cursor.execute("SELECT VERSION()")
            row = cursor.fetchone()
            cursor.execute(mysql_statement_limit(str(row[0] if row else ""), bounds))
    finally:
        cursor.close()


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
    if driver in MYSQL_DRIVERS:
        # Not the app's `init_command` (a driver runs one statement there, and the app may have
        # its own): a `connect` event, which also learns whether the server is MariaDB or MySQL.
        def _bounded_mysql(dbapi_connection: Any, _record: Any) -> None:
            bound_mysql_connection(dbapi_connection, bounds)

        event.listen(sync_engine, "connect", _bounded_mysql)
        return

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
