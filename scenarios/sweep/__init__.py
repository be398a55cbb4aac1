"""The atomicity sweep: a fault before every statement, at every commit and at the response of
any request of any SQLAlchemy app, with no adapter and no checkpoint in the app; then the
database, read through a connection of its own, says whether the request was all or nothing.

- `recorder`: what it observes (engine and session events) and the fault it raises;
- `snapshot`: the database by reflection, its diff, and the restore between runs;
- `app`: loading `MODULE:FUNC`, ASGI or WSGI, calling it in-process;
- `verdicts`: what a run means; `runner`: the sweep; `report`: sweep.json and sweep.md;
- `cli`: `python -m scenarios sweep`; `pytest_plugin`: the `atomicity_sweep` fixture and marker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # at runtime each name is imported on first use: see __getattr__
    from scenarios.sweep.app import SweepRequest, UsageError
    from scenarios.sweep.recorder import SweepFault
    from scenarios.sweep.runner import RequestSweep, SweepResult, sweep
    from scenarios.sweep.verdicts import Outcome

# Where each public name lives. The package imports none of them when it loads, so importing
# `scenarios.sweep.pytest_plugin` (registered in every pytest run) does not import SQLAlchemy.
_HOMES = {
    "SweepRequest": "app",
    "UsageError": "app",
    "SweepFault": "recorder",
    "RequestSweep": "runner",
    "SweepResult": "runner",
    "sweep": "runner",
    "Outcome": "verdicts",
}

__all__ = [
    "Outcome",
    "RequestSweep",
    "SweepFault",
    "SweepRequest",
    "SweepResult",
    "UsageError",
    "sweep",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
