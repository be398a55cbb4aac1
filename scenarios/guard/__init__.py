"""The session guard: finds the second session, and the write that was never committed.

`session_guard()` watches one unit of work at runtime (see `runtime`): `listeners` observe
SQLAlchemy, `rules` decide, `findings` speak; a `UnitObserver` (`observers`) is told each event
as it happens (the report's timeline is drawn from it). `pytest --session-guard` (`pytest_plugin`,
`clients`, `suite`) and the ASGI/WSGI `middleware` make every request a unit. `python -m
scenarios.lint` finds the same mistake in source code without running it.
"""

from __future__ import annotations

from scenarios.guard.findings import Finding, Kind, summarise, summarise_unit
from scenarios.guard.middleware import SessionGuardMiddleware, SessionGuardWSGIMiddleware
from scenarios.guard.observers import UnitObserver
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
    "UnitObserver",
    "install",
    "session_guard",
    "summarise",
    "summarise_unit",
    "uninstall",
]
