"""The Hypothesis state machine (scenarios.stateful) drives the support desk through its adapter:
the correct version keeps every random history (the CI profile's 200 examples under CI). The
buggy twin is found and shrunk by the support desk's matrix (test_support_desk_pack.py)."""

from __future__ import annotations

from pathlib import Path

from examples.support_desk.adapter import TARGET
from scenarios.databases import Database
from scenarios.stateful import open_machine, search, stateful_settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_correct_version_keeps_every_random_history(desk_database: Database) -> None:
    profile = stateful_settings(root=REPO_ROOT)
    with open_machine(TARGET, "scoped_session", desk_database) as machine:
        result = search(machine, profile)
    assert result.findings == (), result.summary()
    assert result.examples >= profile.max_examples


# The buggy twin is found at its first write by the matrix's search, on both databases:
# test_support_desk_pack.py::test_the_stateful_search_finds_the_buggy_twin_on_both_databases.
