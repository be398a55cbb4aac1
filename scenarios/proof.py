"""Does the pack prove anything on this target? A scenario that passes on the buggy wiring
too proves nothing; these read that off a matrix run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from scenarios.matrix import MatrixRun
from scenarios.scenario import Scenario

Cell = tuple[str, str, str]  # (scenario, wiring, database)


def outcomes_by_cell(run: MatrixRun) -> dict[Cell, set[str]]:
    """Every outcome observed per scenario, wiring and database (over its interleavings)."""
    outcomes: dict[Cell, set[str]] = defaultdict(set)
    for result in run.results:
        outcomes[result.scenario, result.wiring, result.db].add(result.observed)
    return outcomes


def proving_nothing(
    run: MatrixRun, scenarios: Sequence[Scenario], buggy_wiring: str, databases: Sequence[str]
) -> list[str]:
    """Scenarios that assert persistence yet are `ok` on `buggy_wiring` on every database."""
    outcomes = outcomes_by_cell(run)
    return [
        scenario.name
        for scenario in scenarios
        if scenario.asserts_persistence
        and all(outcomes[scenario.name, buggy_wiring, db] == {"ok"} for db in databases)
    ]
