"""The driver's own error code for a database error, and what an adapter answers with it.

An app that lets a database error escape answers a bare HTTP 500; the pack tells an FK violation
from a lock timeout only by the code the driver attached (SQLSTATE on Postgres, the SQLite error
name, the server's error number on MariaDB/MySQL), never by message text. These helpers read it
whichever driver raised it.
"""

from __future__ import annotations

from scenarios.adapter import INJECTED_FAULT_CODE, ChatResponse
from scenarios.outcomes import CONFLICT_CODES, LOCK_CODES

# Errors a client may retry: a bounded wait ran out, a serialization failure or deadlock, or two
# requests racing for one unique key.
RETRYABLE_CODES: frozenset[str] = LOCK_CODES | CONFLICT_CODES

_CODE_ATTRIBUTES = ("sqlstate", "pgcode", "sqlite_errorname")
# The MariaDB/MySQL drivers' packages. PyMySQL (and aiomysql, which raises PyMySQL's errors),
# asyncmy and mysqlclient (`MySQLdb`) put the server's error number first in `args`:
# `OperationalError(1205, 'Lock wait timeout exceeded; ...')`; MySQL Connector and MariaDB
# Connector/Python keep it in `errno`.
_MYSQL_DRIVERS = frozenset({"pymysql", "aiomysql", "asyncmy", "MySQLdb", "mysql", "mariadb"})


def _mysql_code(error: BaseException) -> str | None:
    """The server's error number ('1205', '1452') of a MariaDB/MySQL driver's exception."""
    if type(error).__module__.partition(".")[0] not in _MYSQL_DRIVERS:
        return None
    number = getattr(error, "errno", None)
    if not isinstance(number, int) and error.args:
        number = error.args[0]
    if isinstance(number, int) and not isinstance(number, bool) and number > 0:
        return str(number)
    return None


def _own_code(error: BaseException | None) -> str | None:
    # The number first: PyMySQL >= 1.2 (so aiomysql) and asyncmy 0.2.18 also attach the
    # server's `sqlstate`, which is one class for many errors (HY000 for a lock wait timeout and
    # most others, 23000 for both a foreign key and a duplicate key).
    if error is not None and (number := _mysql_code(error)):
        return number
    for attribute in _CODE_ATTRIBUTES:
        code = getattr(error, attribute, None)
        if isinstance(code, str) and code:
            return code
    return None


def driver_error_code(error: BaseException) -> str | None:
    """SQLSTATE (asyncpg, psycopg 2 and 3), SQLite's error name (sqlite3, aiosqlite) or the
    MariaDB/MySQL error number as text ('1205' lock wait timeout, '1213' deadlock, '1452' foreign
    key, '1062' duplicate key, '3572' NOWAIT; aiomysql, asyncmy, PyMySQL, mysqlclient) for a
    SQLAlchemy `DBAPIError` or a raw driver error; None when there is none.

    Follows `orig` (SQLAlchemy's wrapper) and `__cause__` (the async adapters wrap the driver's
    exception in a DB-API one), so it works on SQLAlchemy 2.0 and 2.1 alike.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        code = _own_code(current)
        if code:
            return code
        orig = getattr(current, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None, current.__cause__]
    return None


class InjectedFault(RuntimeError):
    """Raised inside the app by the runner's hook, to fail a request at a named point."""

    def __init__(self, point: str) -> None:
        super().__init__(f"fault injected at {point}")
        self.point = point


def response_for_exception(error: BaseException) -> ChatResponse:
    """What a client saw when the app let `error` escape (a bare 500), with the code the pack
    classifies by: `injected_fault` for an injected fault, else the driver's code if any.

    Relies on the in-process transport re-raising the app's exception (httpx's `ASGITransport`
    does, with its default `raise_app_exceptions=True`; Starlette's `TestClient` too).
    """
    if isinstance(error, InjectedFault):
        return ChatResponse(status=500, error_code=INJECTED_FAULT_CODE, detail=str(error))
    return ChatResponse(
        status=500,
        error_code=driver_error_code(error),
        detail=f"{type(error).__name__}: {error}",
    )
