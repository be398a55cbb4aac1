"""The public toolkit for adapters: what every adapter needs and no app provides.

- `driver_error_code`, `response_for_exception`, `RETRYABLE_CODES`: classify a bare HTTP 500
  by the driver's own code (`errors.py`);
- `bound_waits(engine)`: every wait bounded on an engine the app already made, on SQLite,
  Postgres and MariaDB/MySQL (`waits.py`);
- `Checkpoints`: the pack's four points fired from outside an app that has none
  (`checkpoints.py`).

docs/porting.md shows each in an adapter.
"""

from __future__ import annotations

from scenarios.toolkit.checkpoints import Checkpoints
from scenarios.toolkit.errors import (
    RETRYABLE_CODES,
    InjectedFault,
    driver_error_code,
    response_for_exception,
)
from scenarios.toolkit.waits import (
    DEFAULT_BOUNDS,
    MYSQL_DRIVERS,
    UnboundableEngine,
    WaitBounds,
    bound_mysql_connection,
    bound_waits,
    connect_arguments,
    enable_sqlite_foreign_keys,
)

__all__ = [
    "DEFAULT_BOUNDS",
    "MYSQL_DRIVERS",
    "RETRYABLE_CODES",
    "Checkpoints",
    "InjectedFault",
    "UnboundableEngine",
    "WaitBounds",
    "bound_mysql_connection",
    "bound_waits",
    "connect_arguments",
    "driver_error_code",
    "enable_sqlite_foreign_keys",
    "response_for_exception",
]
