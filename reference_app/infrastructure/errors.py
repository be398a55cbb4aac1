"""The driver's own error code for a database error: SQLSTATE on Postgres, the SQLite error name.

The logic is the harness's public adapter toolkit (`scenarios.toolkit`); the app uses it as a
team's app would.
"""

from __future__ import annotations

from scenarios.toolkit import RETRYABLE_CODES, driver_error_code

__all__ = ["RETRYABLE_CODES", "driver_error_code"]
