"""The atomicity sweep: a fault before every statement, at every commit and at the response of
any request of any SQLAlchemy app, with no adapter and no checkpoint in the app; then the
database, read through a connection of its own, says whether the request was all or nothing.

- `recorder`: the boundaries (engine events) and the fault it raises there;
- `watch`: what a run wrote and kept, as the session guard counts it (the one notion of a
  write), and the database error the driver raised;
- `snapshot`: the database by reflection, its diff, and the restore between runs;
- `sources`: the app under test on a scratch database, from a factory or an app object and the
  session maker or engine it uses (`AppSource`, `open_app`: also for other doors);
- `requests`: requests as a team writes them (headers, setup, saved values, request files);
- `app`: ASGI or WSGI, called in-process;
- `verdicts`: what a run means; `runner`: the sweep; `report`: sweep.json and sweep.md;
- `cli`: `python -m scenarios sweep` (its option groups reusable by other doors);
  `pytest_plugin`: the `atomicity_sweep` fixture and marker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # at runtime each name is imported on first use: see __getattr__
    from scenarios.sweep.recorder import SweepFault
    from scenarios.sweep.requests import RequestPlan, SweepRequest, UsageError
    from scenarios.sweep.runner import RequestSweep, SweepResult, sweep
    from scenarios.sweep.sources import AppSource, open_app
    from scenarios.sweep.verdicts import SweepVerdict

# Where each public name lives. The package imports none of them when it loads, so importing
# `scenarios.sweep.pytest_plugin` (registered in every pytest run) does not import SQLAlchemy.
_HOMES = {
    "AppSource": "sources",
    "RequestPlan": "requests",
    "SweepRequest": "requests",
    "UsageError": "requests",
    "SweepFault": "recorder",
    "RequestSweep": "runner",
    "SweepResult": "runner",
    "sweep": "runner",
    "SweepVerdict": "verdicts",
    "open_app": "sources",
}

__all__ = [
    "AppSource",
    "RequestPlan",
    "RequestSweep",
    "SweepFault",
    "SweepRequest",
    "SweepResult",
    "SweepVerdict",
    "UsageError",
    "open_app",
    "sweep",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
