"""The session guard: finds the second session, and the write that was never committed.

`session_guard()` watches one unit of work at runtime (see `runtime`): `listeners` observe
SQLAlchemy, `rules` decide, `findings` speak. `pytest --session-guard` (`pytest_plugin`,
`clients`, `suite`) and the ASGI/WSGI `middleware` make every request a unit. `python -m
scenarios.lint` finds the same mistake in source code without running it.
"""

from __future__ import annotations

from scenarios.guard.findings import Finding, Kind, summarise, summarise_unit
from scenarios.guard.middleware import SessionGuardMiddleware, SessionGuardWSGIMiddleware
from scenarios.guard.runtime import (
    Mode,
    SessionGuard,
    SessionGuardError,
    install,
    session_guard,
    uninstall,
)

__all__ = [
    "Finding",
    "Kind",
    "Mode",
    "SessionGuard",
    "SessionGuardError",
    "SessionGuardMiddleware",
    "SessionGuardWSGIMiddleware",
    "install",
    "session_guard",
    "summarise",
    "summarise_unit",
    "uninstall",
]
