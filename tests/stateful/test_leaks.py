"""A connection an app leaves open is the search's finding, and the search goes on past it.

The leaking apps are the zoo's (tests/zoo/variants/): a repository session per DI provider call,
never closed; an `async_scoped_session` keyed to the task, never removed. The searches are the
zoo matrix's own `stateful` cases (`zoo_matrix`, tests/zoo/shared.py: built once per test run,
shared with tests/zoo/test_zoo.py), each on a scratch database of its own, because taking a leak
back terminates every other backend there. The leak happens at the first request of every
history, so a longer search would only find it again.
"""

from __future__ import annotations

import re

import pytest

from scenarios.matrix import MatrixRun
from scenarios.outcomes import Outcome
from scenarios.stateful import SCENARIO_NAME, STEP_COUNT
from scenarios.stateful.search import SearchFinding, SearchResult

pytestmark = pytest.mark.postgres
# The end of a search's summary with findings (SearchResult.summary).
COUNTS = re.compile(r"\[(\d+) examples(?:, connections taken back (\d+) times)?\]$")


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
@pytest.mark.parametrize("variant", ["per_repository_provider", "task_scoped_registry"])
def test_a_leaked_connection_is_found_where_it_was_taken_and_the_search_goes_on(
    variant: str, db: str, zoo_matrix: MatrixRun
) -> None:
    (result,) = [
        r
        for r in zoo_matrix.results
        if r.scenario == SCENARIO_NAME and r.wiring == variant and r.db == db
    ]
    assert result.observed == Outcome.LEAKED_CONNECTION.value, result.detail
    assert 1 <= len(result.steps) <= STEP_COUNT, result.steps
    (leak,) = [r for r in result.responses if r.startswith(f"{Outcome.LEAKED_CONNECTION.value}:")]
    assert "checked out at" in leak, leak
    assert "holding a transaction open" in leak, leak
    # Examples ran after the first leak (Hypothesis replays the failure it keeps, at least),
    # each from a reset that the leak would have made fail had it not been taken back.
    counts = COUNTS.search(result.detail)
    assert counts is not None, result.detail
    examples, taken_back = int(counts[1]), int(counts[2] or 0)
    assert taken_back >= 1, result.detail
    assert examples >= 2, result.detail


def test_a_summary_with_findings_ends_with_its_examples_and_take_backs() -> None:
    """What the test above reads from a search's detail in the matrix."""
    leak = SearchFinding(Outcome.LEAKED_CONNECTION, "checked out at x.py:1", ("1. step",), {}, "")
    result = SearchResult("M", (leak,), examples=7, duration_s=0.1, settings="s", taken_back=2)
    counts = COUNTS.search(result.summary())
    assert counts is not None, result.summary()
    assert (counts[1], counts[2]) == ("7", "2")
    untaken = SearchResult("M", (leak,), examples=7, duration_s=0.1, settings="s")
    assert result.summary().startswith(untaken.summary().removesuffix("]"))
    assert COUNTS.search(untaken.summary())


# The clean twin (a wiring that returns its connections is never called leaky, and nothing is
# taken back) is the 200-example clean search of shared_session and unit_of_work, which checks
# connections after every step: test_request_histories.test_fixed_wirings_keep_every_random_history.
