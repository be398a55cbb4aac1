"""The driver's own error code for a database error: SQLSTATE on Postgres, the SQLite error name,
the server's error number on MariaDB/MySQL ("1205").

The logic is the harness's public adapter toolkit (`scenarios.toolkit`); the app uses it as a
team's app would, and reads the MySQL error number itself where the toolkit gives none.
"""

from __future__ import annotations

from scenarios.toolkit import RETRYABLE_CODES
from scenarios.toolkit import driver_error_code as _toolkit_code

__all__ = ["RETRYABLE_CODES", "driver_error_code", "mysql_error_number"]

# The MySQL drivers' error classes live in these modules (aiomysql re-exports PyMySQL's).
_MYSQL_DRIVER_MODULES = ("pymysql", "aiomysql", "asyncmy", "MySQLdb")


def mysql_error_number(error: BaseException) -> str | None:
    """The MySQL/MariaDB error number ("1205") of a driver error, following SQLAlchemy's `orig`
    and the async adapters' `__cause__`; None when no MySQL driver raised it."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        module = type(current).__module__.split(".")[0]
        args = getattr(current, "args", ())
        if module in _MYSQL_DRIVER_MODULES and args and isinstance(args[0], int):
            return str(args[0])
        orig = getattr(current, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None, current.__cause__]
    return None


def driver_error_code(error: BaseException) -> str | None:
    """The MySQL error number where a MySQL driver raised `error` (PyMySQL >= 1.1 also gives
    a SQLSTATE, but HY000 names no cause), else the toolkit's code."""
    return mysql_error_number(error) or _toolkit_code(error)
