"""A connection an app leaves open is the search's finding, and the search goes on past it.

The leaking apps are the zoo's (tests/zoo/variants/): a repository session per DI provider call,
never closed; an `async_scoped_session` keyed to the task, never removed. Each search runs on a
scratch database of its own, because taking a leak back terminates every other backend there.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from hypothesis import settings

from scenarios.adapter import TargetFactory
from scenarios.databases import Database
from scenarios.outcomes import Outcome
from scenarios.stateful import SearchResult, open_machine, search
from tests.conftest import scratch_or_without_postgres
from tests.zoo.adapter import ZOO

GC_OF_LEAKED_CONNECTION = "The garbage collector is trying to clean up non-checked-in connection"


@pytest_asyncio.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def own_database(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    async with scratch_or_without_postgres(request.param) as database:
        yield database


def _search(
    factory: TargetFactory, wiring: str, database: Database, chosen: settings
) -> tuple[SearchResult, int]:
    """The result, and how many times the search took connections back and reopened the app."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", GC_OF_LEAKED_CONNECTION)
        with open_machine(factory, wiring, database) as machine:
            result = search(machine, chosen)
        gc.collect()  # now: the leaked sessions' connections, while the warning is ignored
    return result, machine.stats.taken_back


@pytest.mark.parametrize("wiring", ["per_repository_provider", "task_scoped_registry"])
def test_a_leaked_connection_is_found_where_it_was_taken_and_the_search_goes_on(
    wiring: str, own_database: Database, fresh_search_settings: settings
) -> None:
    result, taken_back = _search(ZOO, wiring, own_database, fresh_search_settings)
    assert result.outcome is Outcome.LEAKED_CONNECTION, result.summary()
    leak = result.primary
    assert leak is not None
    assert 1 <= len(leak.steps) <= fresh_search_settings.stateful_step_count, leak.steps
    assert "checked out at" in leak.message, leak.message
    assert "holding a transaction open" in leak.message, leak.message
    # Examples ran after the first leak (Hypothesis replays the failure it keeps, at least),
    # each from a reset that the leak would have made fail had it not been taken back.
    assert taken_back >= 1
    assert result.examples >= 2


# The clean twin (a wiring that returns its connections is never called leaky, and nothing is
# taken back) is the 200-example clean search of shared_session and unit_of_work, which checks
# connections after every step: test_request_histories.test_fixed_wirings_keep_every_random_history.
