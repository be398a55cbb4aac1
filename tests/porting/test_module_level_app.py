"""An adapter over an app with a module-level engine and DI container works with no routing
shim: the runner opens one target at a time, so `open` re-points the container and nothing
else is using it meanwhile. The whole pack and the search run on both databases.

Modelled on issue 14's trial on a RealWorld "Conduit" backend, whose module-level container
got both databases mixed when the runner opened a SQLite and a Postgres target side by side.
"""

from __future__ import annotations

import asyncio

import pytest

from scenarios.databases import postgres_required
from scenarios.matrix import run_matrix
from scenarios.outcomes import Outcome
from scenarios.scenario import load_pack
from scenarios.stateful import StatefulSearch
from tests.porting.module_level_app.adapter import TARGET, SecondTargetOpened

# The app makes its engine as its authors wrote it, with no wait bounded: on MariaDB the incident's
# bug would hang each new chat for the server's 50-second lock wait, so it runs on these two.
KINDS = ("sqlite", "postgresql")


def _run(wiring: str):
    return asyncio.run(
        run_matrix(
            TARGET,
            wirings=[wiring],
            databases=list(KINDS),
            scenarios=load_pack(()),
            stateful=StatefulSearch(max_examples=10),
        )
    )


def _skip_without_postgres(run) -> None:
    """Postgres cells skipped (locally, no server) skip the test; the only other skips are
    the scenarios needing what this app's adapter does not declare: bad input refused the
    pack's way (it opted out), and a point after the response (its app has none)."""
    unreachable = [r for r in run.skipped if "PostgreSQL" in r.detail]
    if unreachable and not postgres_required():
        pytest.skip(unreachable[0].detail)
    assert run.skipped, "the bad-input scenarios are skipped"
    for skipped in run.skipped:
        assert skipped.detail in {
            "target lacks rejects_bad_input",
            "target lacks after_response",
        }, (skipped.id, skipped.detail)
        if skipped.scenario.startswith("bad_input"):
            assert skipped.detail == "target lacks rejects_bad_input", skipped.id


@pytest.mark.postgres
def test_the_pack_and_the_search_pass_on_the_module_level_app_on_both_databases() -> None:
    run = _run("as_written")
    _skip_without_postgres(run)
    assert {r.db for r in run.results} == set(KINDS)
    assert run.unexpected == [], [f"{r.id}: {r.observed} {r.detail}" for r in run.unexpected]
    assert TARGET.most_open == 1


@pytest.mark.postgres
def test_the_seed_s_bug_in_the_module_level_app_is_found_on_both_databases() -> None:
    run = _run("two_sessions")
    _skip_without_postgres(run)
    search = {r.db: r.observed for r in run.results if r.scenario == "stateful"}
    assert search == {
        "sqlite": Outcome.LOCK_TIMEOUT.value,
        "postgresql": Outcome.FK_VIOLATION.value,
    }, [r.detail for r in run.results if r.scenario == "stateful"]
    lost = {r.db for r in run.results if r.observed == Outcome.LOST_WRITE.value}
    assert lost == set(KINDS)


def test_a_second_target_opened_while_one_is_open_is_refused(sqlite_database) -> None:
    async def open_two() -> None:
        async with (
            TARGET.open("as_written", sqlite_database),
            TARGET.open("as_written", sqlite_database),
        ):
            pass

    with pytest.raises(SecondTargetOpened):
        asyncio.run(open_two())
