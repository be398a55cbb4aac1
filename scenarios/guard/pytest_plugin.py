"""pytest fixture and marker for the session guard, loaded by the `session_guard` entry point.

    def test_checkout(session_guard): ...            # the test is one unit; findings fail it
    @pytest.mark.session_guard(mode="collect")       # or keep them: session_guard.findings

This module imports only pytest when it loads, so a broken install fails the tests that use the
guard, never the collection of the rest of the suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from scenarios.guard.runtime import SessionGuard

MARKER = (
    "session_guard(mode='raise', report_rollbacks=False): run the test as one session-guard "
    "unit; in raise mode a second session, a lost flushed write or a leaked connection fails it"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A marked test gets the fixture last, so its unit is the test body, not other fixtures."""
    for item in items:
        names = getattr(item, "fixturenames", None)
        marked = item.get_closest_marker("session_guard") is not None
        if marked and names is not None and "session_guard" not in names:
            names.append("session_guard")


@pytest.fixture
def session_guard(request: pytest.FixtureRequest) -> Iterator[SessionGuard]:
    """The test as one unit: raise mode (default) fails it at teardown when the guard found
    anything; `@pytest.mark.session_guard(mode="collect")` only collects `findings`."""
    from scenarios.guard.runtime import SessionGuard

    marker = request.node.get_closest_marker("session_guard")
    options = dict(marker.kwargs) if marker is not None else {}
    unknown = sorted(set(options) - {"mode", "report_rollbacks"})
    if unknown:
        raise pytest.UsageError(f"session_guard marker: unknown option(s) {unknown}")
    with SessionGuard(
        options.get("mode", "raise"),
        label=request.node.nodeid,
        noun="test",
        report_rollbacks=bool(options.get("report_rollbacks", False)),
    ) as unit:
        yield unit
