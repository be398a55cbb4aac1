"""Hypothesis stateful testing of any target: random request histories checked against a model.

The scenario pack checks the histories we thought of; this machine generates the ones we did
not, and shrinks a failure to the shortest history that still shows it. It drives the app only
through the adapter protocol (`scenarios.adapter.Target`), so a porting team reuses it as is:

    with open_machine(factory, "my_wiring", database) as machine:
        result = search(machine, stateful_settings())

What it checks beyond persistence (bad input refused, concurrency) and the content bounds are
the adapter's choice: `SearchOptions`, declared as the factory's `search_options`.

Rules cannot be `async` (Hypothesis issue 4107), and `asyncio.run()` per rule breaks asyncpg
pools, so a machine class owns one `asyncio.Runner` and one open target (one pooled engine) for
all its examples; each example starts from `target.reset()`, which DELETEs on a separate
connection. The shared-connection rollback recipe is never used: it hides the very bug. An
example that leaves a connection open is a `leaked_connection` finding, and the target is
reopened before the next one (`leaks`), so a leak never makes that reset fail.
"""

from __future__ import annotations

from scenarios.stateful.machine import ChatSession, RequestHistory, machine_for_target, open_machine
from scenarios.stateful.matrix_case import StatefulSearch
from scenarios.stateful.options import SearchOptions
from scenarios.stateful.profiles import (
    PROFILE_VARIABLE,
    PROFILES,
    STEP_COUNT,
    matrix_settings,
    profile_name,
    stateful_settings,
)
from scenarios.stateful.search import (
    FLAKY_NOTE,
    GUARDS,
    INTERLEAVING,
    SCENARIO_NAME,
    SearchFinding,
    SearchResult,
    search,
    write_report,
)
from scenarios.stateful.strategies import (
    DEFAULT_MAX_CONTENT_CHARS,
    EMOJI,
    InputToRefuse,
    bad_inputs,
    user_texts,
)
from scenarios.stateful.violations import ErrorFound, StatefulViolation

__all__ = [
    "DEFAULT_MAX_CONTENT_CHARS",
    "EMOJI",
    "FLAKY_NOTE",
    "GUARDS",
    "INTERLEAVING",
    "PROFILES",
    "PROFILE_VARIABLE",
    "SCENARIO_NAME",
    "STEP_COUNT",
    "ChatSession",
    "ErrorFound",
    "InputToRefuse",
    "RequestHistory",
    "SearchFinding",
    "SearchOptions",
    "SearchResult",
    "StatefulSearch",
    "StatefulViolation",
    "bad_inputs",
    "machine_for_target",
    "matrix_settings",
    "open_machine",
    "profile_name",
    "search",
    "stateful_settings",
    "user_texts",
    "write_report",
]
