"""Proof that the pack can fail: a scenario that passes on every wiring proves nothing.

Runs the whole pack against the reference app on every wiring and both databases, then checks
the pack itself: every scenario that asserts persistence must catch `two_sessions` on at least
one database, and must pass on both fixes on both databases.
"""

from __future__ import annotations

import pytest

from scenarios.adapter import AFTER_RESPONSE
from scenarios.databases import Database
from scenarios.matrix import MatrixRun
from scenarios.proof import outcomes_by_cell, proving_nothing
from scenarios.scenario import load_pack

pytestmark = pytest.mark.postgres
FIXES = ("shared_session", "unit_of_work", "commit_before_response")


@pytest.fixture(scope="module")
def matrix(postgres_database: Database, reference_matrix: MatrixRun) -> MatrixRun:
    """The suite's run of the whole pack on every wiring and both databases (tests/conftest.py);
    `postgres_database` makes an unreachable server a skip locally and a failure under CI."""
    return reference_matrix


def observed(run: MatrixRun) -> dict[tuple[str, str, str], set[str]]:
    assert [r.detail for r in run.skipped] == []
    return outcomes_by_cell(run)


def test_every_persistence_scenario_catches_two_sessions_on_some_database(
    matrix: MatrixRun,
) -> None:
    observed(matrix)
    found = proving_nothing(matrix, load_pack(), "two_sessions", ("sqlite", "postgresql"))
    assert found == [], "these scenarios pass on the buggy wiring: they prove nothing"
    # The check itself can fail: pointed at a fix, every persistence scenario "proves nothing".
    on_a_fix = proving_nothing(matrix, load_pack(), "shared_session", ("sqlite", "postgresql"))
    assert on_a_fix == [s.name for s in load_pack() if s.asserts_persistence]


def test_both_fixes_are_ok_on_both_databases(matrix: MatrixRun) -> None:
    outcomes = observed(matrix)
    not_ok = {key: found for key, found in outcomes.items() if key[1] in FIXES and found != {"ok"}}
    assert not_ok == {}


def test_no_scenario_passes_on_every_wiring(matrix: MatrixRun) -> None:
    outcomes = observed(matrix)
    always_ok = [
        name
        for name in {key[0] for key in outcomes}
        if all(found == {"ok"} for key, found in outcomes.items() if key[0] == name)
    ]
    assert always_ok == []


def test_commit_in_save_shows_its_partial_commit_under_injected_faults(matrix: MatrixRun) -> None:
    outcomes = observed(matrix)
    for scenario in load_pack():
        if any(r.fault and r.fault != AFTER_RESPONSE for r in scenario.requests):
            for db in ("sqlite", "postgresql"):
                assert outcomes[scenario.name, "commit_in_save", db] == {"partial_commit"}, (
                    scenario.name
                )


def test_every_verdict_of_the_reference_matrix_is_as_expected(matrix: MatrixRun) -> None:
    assert [f"{r.id}: {r.observed} (expected {r.expected})" for r in matrix.unexpected] == []


def test_commit_in_dependency_loses_only_what_it_acknowledged_before_committing(
    matrix: MatrixRun,
) -> None:
    outcomes = observed(matrix)
    after_response = {
        s.name
        for s in load_pack()
        if any(r.fault == AFTER_RESPONSE or AFTER_RESPONSE in r.pause_at for r in s.requests)
    }
    assert after_response == {
        "fault_after_response",
        "fault_after_response_new_session",
        "acknowledged_then_read",
    }
    for (scenario, wiring, db), found in outcomes.items():
        if wiring == "commit_in_dependency":
            wanted = {"lost_write"} if scenario in after_response else {"ok"}
            assert found == wanted, (scenario, db)
