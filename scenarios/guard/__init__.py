"""The session guard: finds the second session, and the write that was never committed.

`session_guard()` watches one unit of work at runtime (see `runtime`): `listeners` observe
SQLAlchemy, `rules` decide, `findings` speak; a `UnitObserver` (`observers`) is told each event
as it happens (the report's timeline is drawn from it). `pytest --session-guard` (`pytest_plugin`,
`clients`, `suite`) and the ASGI/WSGI `middleware` make every request a unit. `python -m
scenarios.lint` finds the same mistake in source code without running it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # at runtime each name is imported on first use: see __getattr__
    from scenarios.guard.findings import GuardFinding, Kind, summarise, summarise_unit
    from scenarios.guard.middleware import SessionGuardMiddleware, SessionGuardWSGIMiddleware
    from scenarios.guard.observers import UnitObserver
    from scenarios.guard.runtime import (
        GuardMode,
        SessionGuard,
        SessionGuardError,
        install,
        session_guard,
        uninstall,
    )

# Where each public name lives. The package imports none of them when it loads, so importing
# `scenarios.guard.pytest_plugin` (registered in every pytest run) does not import SQLAlchemy.
_HOMES = {
    "GuardFinding": "findings",
    "Kind": "findings",
    "summarise": "findings",
    "summarise_unit": "findings",
    "SessionGuardMiddleware": "middleware",
    "SessionGuardWSGIMiddleware": "middleware",
    "UnitObserver": "observers",
    "GuardMode": "runtime",
    "SessionGuard": "runtime",
    "SessionGuardError": "runtime",
    "install": "runtime",
    "session_guard": "runtime",
    "uninstall": "runtime",
}

__all__ = [
    "GuardFinding",
    "GuardMode",
    "Kind",
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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
