"""The zoo: the bug's relatives, each run through every detector the harness has, and the whole
score asserted as one table, so a change that blinds a detector to a variant fails CI.

Detectors: the regression pack (the matrix), the Hypothesis search (the matrix's `stateful`
case), the runtime session guard (recorded per request by the runner), and the static check.
Scores: `caught`, `missed`, `crashed` (ended with a verdict but found nothing: it could not
run), and, for the read-only probe, `quiet` or `false_alarm`.
"""

from __future__ import annotations

import gc
import inspect
import warnings
from pathlib import Path

import pytest

from scenarios.databases import Database
from scenarios.lint import check, load_config
from scenarios.matrix import MatrixRun, run_matrix
from scenarios.runner import CaseResult
from scenarios.scenario import load_pack
from scenarios.stateful import SCENARIO_NAME, StatefulSearch
from tests.whole_matrix import whole_matrix_turn
from tests.zoo.adapter import VARIANTS, ZOO

pytestmark = pytest.mark.postgres
# The leak variants leave connections that only the garbage collector finds; SQLAlchemy warns
# when it does. Expected here, and collected before the module ends (see `matrix`).
GC_OF_LEAKED_CONNECTION = "The garbage collector is trying to clean up non-checked-in connection"
DATABASES = ("sqlite", "postgresql")
PROBE = "read_only_helper"  # loses nothing: a finding there is a false alarm

# On a variant that leaks its connection, the search either finds the bug in the history it
# tries first (caught) or finds the database still locked by the leak when it resets for the
# next history (crashed: a verdict, "could not run", never a pass); which comes first is timing.
LEAK_SEARCH = "caught|crashed"

# The score, variant by variant (a cell may list the scores it accepts, `a|b`);
# docs/porting.md shows the same table. The guard is told each
# request's response (a success status, and the after-response point), so it names a 201 whose
# writes were not kept ("acknowledged but not saved") and a commit after the response.
SCORES: dict[str, dict[str, str]] = {
    "forgotten_commit": {
        "pack": "caught",
        "search": "caught",
        "guard": "caught",
        "static": "missed",
    },
    "unflushed_second_session": {
        "pack": "caught",
        "search": "caught",
        "guard": "caught",  # the 201 is known: rows added, never flushed, then closed
        "static": "caught",
    },
    "swallowed_error": {
        "pack": "caught",
        "search": "caught",
        "guard": "caught",  # the 201 is known: the writes were rolled back under it
        "static": "missed",
    },
    "commit_in_dependency": {
        "pack": "caught",
        "search": "missed",
        "guard": "caught",  # the after-response point is known: a commit after the response
        "static": "missed",
    },
    "per_repository_provider": {
        "pack": "caught",
        "search": LEAK_SEARCH,
        "guard": "caught",
        "static": "caught",
    },
    "singleton_session": {
        "pack": "caught",
        "search": LEAK_SEARCH,
        "guard": "caught",
        # the session factory is an attribute set in the base class, in another file
        "static": "missed",
    },
    "task_scoped_registry": {
        "pack": "caught",
        "search": LEAK_SEARCH,
        "guard": "caught",
        "static": "missed",
    },
    "gather_fan_out": {
        "pack": "caught",
        "search": LEAK_SEARCH,
        "guard": "caught",
        "static": "missed",
    },
    "read_only_helper": {
        "pack": "quiet",
        "search": "quiet",
        "guard": "quiet",  # a second session that only read: a note, never a finding
        "static": "false_alarm",
    },
}


@pytest.fixture(scope="module")
async def matrix(
    postgres_database: Database, tmp_path_factory: pytest.TempPathFactory
) -> MatrixRun:
    """`postgres_database` makes an unreachable server a skip locally and a failure under CI;
    under pytest-xdist no other worker runs a whole matrix meanwhile (tests/whole_matrix.py)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", GC_OF_LEAKED_CONNECTION)
        async with whole_matrix_turn(tmp_path_factory):
            run = await run_matrix(
                ZOO,
                wirings=ZOO.wirings,
                databases=DATABASES,
                scenarios=load_pack(),
                stateful=StatefulSearch(10),
            )
        gc.collect()  # now, not in some later test: the leaked sessions' connections
    return run


def _could_not_run(result: CaseResult) -> bool:
    return result.detail.startswith(
        (
            "the case could not run",
            "the case did not finish",
            "the stateful search could not run",
        )
    ) or ("did not answer within" in result.detail and result.observed == "error")


def _score(results: list[CaseResult], probe: bool) -> str:
    if any(r.observed != "ok" and not _could_not_run(r) for r in results):
        return "false_alarm" if probe else "caught"
    if any(_could_not_run(r) for r in results):
        return "crashed"
    return "quiet" if probe else "missed"


def _static(variant: str) -> str:
    path = Path(inspect.getfile(VARIANTS[variant]))
    report = check([path], load_config(None))
    if report.skipped:  # the file could not be read or parsed: the check did not run
        return "crashed"
    found = report.findings
    if variant == PROBE:
        return "false_alarm" if found else "quiet"
    return "caught" if found else "missed"


def scores(run: MatrixRun) -> dict[str, dict[str, str]]:
    table = {}
    for variant in ZOO.wirings:
        cases = [r for r in run.results if r.wiring == variant and r.scenario != SCENARIO_NAME]
        searches = [r for r in run.results if r.wiring == variant and r.scenario == SCENARIO_NAME]
        probe = variant == PROBE
        guarded = any(r.guard_findings for r in cases)
        table[variant] = {
            "pack": _score(cases, probe),
            "search": _score(searches, probe),
            "guard": ("false_alarm" if probe else "caught")
            if guarded
            else ("quiet" if probe else "missed"),
            "static": _static(variant),
        }
    return table


def test_every_case_of_every_variant_ends_with_its_expected_verdict(matrix: MatrixRun) -> None:
    unexpected = [
        f"{r.id}: {r.observed} (expected {r.expected}) {r.detail}" for r in matrix.unexpected
    ]
    assert unexpected == []
    per_cell = {(w, d): 0 for w in ZOO.wirings for d in DATABASES}
    for result in matrix.results:
        per_cell[result.wiring, result.db] += 1
    cases = sum(len(s.interleavings()) for s in load_pack()) + 1  # + the search
    assert set(per_cell.values()) == {cases}, per_cell


def test_a_leaked_connection_is_named_with_where_it_was_taken(matrix: MatrixRun) -> None:
    leaks = [r for r in matrix.results if r.observed == "leaked_connection"]
    assert {r.wiring for r in leaks} == {
        "per_repository_provider",
        "singleton_session",
        "task_scoped_registry",
        "gather_fan_out",
    }
    for result in leaks:
        assert "holding a transaction open" in result.detail or "checked out at" in result.detail


def _rows(table: dict[str, dict[str, str]]) -> list[str]:
    """One line a variant, so a failure shows exactly which cells changed."""
    return [f"{v}: " + ", ".join(f"{d}={s}" for d, s in row.items()) for v, row in table.items()]


def test_each_detector_scores_as_the_table_says(matrix: MatrixRun) -> None:
    found = scores(matrix)
    accepted = {
        variant: {
            detector: found[variant][detector]
            if found[variant][detector] in expected.split("|")
            else expected
            for detector, expected in row.items()
        }
        for variant, row in SCORES.items()
    }
    assert _rows(found) == _rows(accepted)
