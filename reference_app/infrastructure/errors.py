"""The driver's own error code for a database error: SQLSTATE on Postgres, the SQLite error name."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

# Errors a client may retry: lock or statement timeouts, serialization failures, deadlocks and
# two requests racing for the same unique key.
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


def driver_error_code(error: DBAPIError) -> str | None:
    original = error.orig
    for attribute in ("sqlstate", "pgcode", "sqlite_errorname"):
        code = getattr(original, attribute, None)
        if isinstance(code, str) and code:
            return code
    cause = getattr(original, "__cause__", None)
    code = getattr(cause, "sqlstate", None) or getattr(cause, "sqlite_errorname", None)
    return code if isinstance(code, str) else None
