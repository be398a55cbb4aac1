"""The Hypothesis state machine (scenarios.stateful) drives the support desk through its adapter:
the correct version keeps every random history, the buggy twin is found and shrunk."""

from __future__ import annotations

from pathlib import Path

from hypothesis import settings

from examples.support_desk.adapter import TARGET
from scenarios.databases import Database
from scenarios.outcomes import Outcome
from scenarios.stateful import open_machine, search, stateful_settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_correct_version_keeps_every_random_history(desk_database: Database) -> None:
    profile = stateful_settings(root=REPO_ROOT)
    with open_machine(TARGET, "scoped_session", desk_database) as machine:
        result = search(machine, profile)
    assert result.findings == (), result.summary()
    assert result.examples >= profile.max_examples


def test_the_buggy_twin_is_found_at_its_first_write(desk_database: Database) -> None:
    """The outcome and where it fails, not a shrink shape: Hypothesis promises none."""
    fresh = settings(stateful_settings(root=REPO_ROOT), database=None)  # found, not replayed
    with open_machine(TARGET, "fresh_session", desk_database) as machine:
        result = search(machine, fresh)
    expected = {"postgresql": Outcome.FK_VIOLATION, "sqlite": Outcome.LOCK_TIMEOUT}
    assert result.outcome is expected[desk_database.kind], result.summary()
    steps = result.primary.steps if result.primary else ()
    assert 1 <= len(steps) <= fresh.stateful_step_count, steps
    assert "new chat session" in steps[-1]
    assert not [step for step in steps[:-1] if "HTTP 201" in step], steps
