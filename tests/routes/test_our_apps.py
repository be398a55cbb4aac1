"""The route door on our own apps, with nothing but an app factory (examples/route_factories.py):
the reference app's six wirings and the support desk, clean and buggy. Each buggy wiring is
caught on its write route, each fix is clean."""

from __future__ import annotations

import pytest

from examples import route_factories as apps
from scenarios.routes.verdicts import Problem
from tests.routes.conftest import Routes

# What each wiring must show on its write route (nothing: it must be clean).
EXPECTED = {
    "two_sessions": {Problem.TWO_WRITERS},
    "shared_session": set(),
    "commit_in_save": {Problem.PARTIAL_COMMIT},  # one session, two commits: the sweep's find
    "unit_of_work": set(),
    "commit_in_dependency": {Problem.RESPONSE_BEFORE_COMMIT},
    "commit_before_response": set(),
    "desk_scoped_session": set(),
    "desk_fresh_session": {Problem.TWO_WRITERS},
}


@pytest.mark.parametrize("wiring", list(EXPECTED))
def test_every_buggy_wiring_is_caught_on_its_write_route_and_every_fix_is_clean(
    run_routes: Routes, wiring: str
) -> None:
    result = run_routes(getattr(apps, wiring))
    (verdict,) = result.verdicts  # each app has one write route
    expected = EXPECTED[wiring]
    if expected:
        assert expected <= set(verdict.problems), verdict.findings
        assert not result.clean
    else:
        assert verdict.reached, verdict.unreached_reason
        assert verdict.findings == [], verdict.findings
        assert verdict.swept is not None, "a clean verdict needs the sweep to have run"
        assert result.clean
