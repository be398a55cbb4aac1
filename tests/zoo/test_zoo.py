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

import reference_app
from scenarios.databases import Database
from scenarios.guard import Kind
from scenarios.lint import check, load_config
from scenarios.lint.selection import build
from scenarios.matrix import MatrixRun, run_matrix
from scenarios.outcomes import Verdict
from scenarios.runner import CaseResult, run_case
from scenarios.scenario import load_pack
from scenarios.stateful import SCENARIO_NAME, StatefulSearch
from tests.whole_matrix import whole_matrix_turn
from tests.zoo.adapter import VARIANTS, ZOO

pytestmark = [pytest.mark.postgres, pytest.mark.mariadb]
# The leak variants leave connections that only the garbage collector finds; SQLAlchemy warns
# when it does. Expected here, and collected before the module ends (see `matrix`).
GC_OF_LEAKED_CONNECTION = "The garbage collector is trying to clean up non-checked-in connection"
DATABASES = ("sqlite", "postgresql", "mariadb")
PROBE = "read_only_helper"  # loses nothing: a finding there is a false alarm

# The score, variant by variant (a cell may list the scores it accepts, `a|b`);
# docs/evaluation.md shows the same table. The guard is told each
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
        "search": "caught",  # a read at once after a 201, while the app is held after it
        "guard": "caught",  # the after-response point is known: a commit after the response
        "static": "caught",  # SCN004: get_db commits after `yield`
    },
    "per_repository_provider": {
        "pack": "caught",
        "search": "caught",  # leaked_connection: it takes the connection back between examples
        "guard": "caught",
        "static": "caught",
    },
    "singleton_session": {
        "pack": "caught",
        "search": "caught",  # leaked_connection: it takes the connection back between examples
        "guard": "caught",
        "static": "caught",  # a session cached when empty, next to the one in hand
    },
    "task_scoped_registry": {
        "pack": "caught",
        "search": "caught",  # leaked_connection: it takes the connection back between examples
        "guard": "caught",
        "static": "caught",
    },
    "gather_fan_out": {
        "pack": "caught",
        "search": "caught",  # leaked_connection: it takes the connection back between examples
        "guard": "caught",
        "static": "caught",
    },
    "dependency_resolved_twice": {
        "pack": "caught",
        "search": "caught",
        "guard": "caught",  # naming the route and the Depends chain that asked for it
        # the route is the reference app's, which takes this use case through the composition
        # (`SessionDependency.use_case`), and get_db's maker is `request.app.state`'s
        "static": "missed",
    },
    "create_task_session": {
        "pack": "caught",
        "search": "caught",
        # the task's writes rolled back under the 201: "acknowledged but not saved"
        "guard": "caught",
        # a function started by `asyncio.create_task` is a unit of work of its own (issue 28):
        # its session is not a second one, and the response going out first is not in source
        "static": "missed",
    },
    "background_task_session": {
        "pack": "caught",
        "search": "caught",
        "guard": "caught",
        "static": "missed",  # as create_task_session: `BackgroundTasks.add_task` starts a unit
    },
    "read_only_helper": {
        "pack": "quiet",
        "search": "quiet",
        "guard": "quiet",  # a second session that only read: a note, never a finding
        "static": "false_alarm",
    },
}


# The variants whose every case leaves a connection holding a transaction open.
LEAKING = {"per_repository_provider", "singleton_session", "task_scoped_registry", "gather_fan_out"}


# Each test runs for each variant; `-k VARIANT` selects one.
per_variant = pytest.mark.parametrize("variant", list(VARIANTS))


def _selected(session: pytest.Session) -> list[str]:
    """The variants whose tests this run selected, in the table's order."""
    chosen = {
        item.callspec.params["variant"]
        for item in session.items
        if isinstance(item, pytest.Function)
        and hasattr(item, "callspec")
        and "variant" in item.callspec.params
    }
    return [variant for variant in VARIANTS if variant in chosen]


@pytest.fixture(scope="module")
async def matrix(
    request: pytest.FixtureRequest,
    postgres_database: Database,
    mariadb_database: Database,
    tmp_path_factory: pytest.TempPathFactory,
) -> MatrixRun:
    """One matrix over the variants selected (one target open at a time; the searches of a
    database side by side). `postgres_database` and `mariadb_database` make an unreachable
    server a skip locally and a failure under CI; under pytest-xdist no other worker runs a whole matrix meanwhile
    (tests/whole_matrix.py)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", GC_OF_LEAKED_CONNECTION)
        async with whole_matrix_turn(tmp_path_factory):
            run = await run_matrix(
                ZOO,
                wirings=_selected(request.session),
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
            "could not run: ",  # the adapter's open() raised (scenarios.recovery)
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
    # every rule on, SCN003 (off by default) included
    report = check([path], load_config(None), build(select=("ALL",)))
    if report.skipped:  # the file could not be read or parsed: the check did not run
        return "crashed"
    found = report.findings
    if variant == PROBE:
        return "false_alarm" if found else "quiet"
    return "caught" if found else "missed"


def scores(run: MatrixRun, variant: str) -> dict[str, str]:
    cases = [r for r in run.results if r.wiring == variant and r.scenario != SCENARIO_NAME]
    searches = [r for r in run.results if r.wiring == variant and r.scenario == SCENARIO_NAME]
    probe = variant == PROBE
    guarded = any(r.guard_findings for r in cases)
    return {
        "pack": _score(cases, probe),
        "search": _score(searches, probe),
        "guard": ("false_alarm" if probe else "caught")
        if guarded
        else ("quiet" if probe else "missed"),
        "static": _static(variant),
    }


def test_the_table_scores_every_variant() -> None:
    assert set(SCORES) == set(VARIANTS)
    assert set(LEAKING) <= set(VARIANTS)


@per_variant
def test_every_case_of_every_variant_ends_with_its_expected_verdict(
    variant: str, matrix: MatrixRun
) -> None:
    mine = [r for r in matrix.results if r.wiring == variant]
    unexpected = [
        f"{r.id}: {r.observed} (expected {r.expected}) {r.detail}"
        for r in mine
        if r.verdict is Verdict.UNEXPECTED
    ]
    assert unexpected == []
    per_cell = {(variant, d): 0 for d in DATABASES}
    for result in mine:
        per_cell[result.wiring, result.db] += 1
    cases = sum(len(s.interleavings()) for s in load_pack()) + 1  # + the search
    assert set(per_cell.values()) == {cases}, per_cell


@per_variant
def test_a_leaked_connection_is_named_with_where_it_was_taken(
    variant: str, matrix: MatrixRun
) -> None:
    leaks = [r for r in matrix.results if r.wiring == variant and r.observed == "leaked_connection"]
    assert bool(leaks) == (variant in LEAKING)
    for result in leaks:
        assert "holding a transaction open" in result.detail or "checked out at" in result.detail


def _row(variant: str, row: dict[str, str]) -> str:
    """One line a variant, so a failure shows exactly which cells changed."""
    return f"{variant}: " + ", ".join(f"{d}={s}" for d, s in row.items())


@per_variant
def test_each_detector_scores_as_the_table_says(variant: str, matrix: MatrixRun) -> None:
    found = scores(matrix, variant)
    accepted = {
        detector: found[detector] if found[detector] in expected.split("|") else expected
        for detector, expected in SCORES[variant].items()
    }
    assert _row(variant, found) == _row(variant, accepted)


@pytest.mark.parametrize("variant", sorted(LEAKING))
def test_the_search_names_each_leak_and_where_its_connection_was_taken(
    variant: str, matrix: MatrixRun
) -> None:
    """The search takes a leaked connection back between its examples, so a leak is its finding
    (shrunk), never "could not run" on a database the leak still locks."""
    searches = [r for r in matrix.results if r.scenario == SCENARIO_NAME and r.wiring == variant]
    assert {r.observed for r in searches} == {"leaked_connection"}, [r.detail for r in searches]
    assert len(searches) == len(DATABASES)
    for result in searches:
        assert "checked out at" in result.detail, result.detail
        assert not _could_not_run(result), result.detail


GET_DB_FILE = Path(reference_app.__file__).parent / "infrastructure" / "database.py"
ROUTE = "route POST /sessions/{session_id}/messages"


async def test_dependency_resolved_twice_is_blamed_on_the_route_and_depends_that_asked(
    database: Database,
) -> None:
    """Both sessions are opened on the same line inside get_db, which every request shares;
    what tells the extra one apart is the route and the `Depends` chain that asked for it."""
    (line,) = [
        n for n, text in enumerate(GET_DB_FILE.read_text().splitlines(), 1) if "as db:" in text
    ]
    get_db = f"reference_app/infrastructure/database.py:{line}"
    scenario = next(s for s in load_pack() if s.name == "message_to_existing_session")
    interleaving = next(iter(scenario.interleavings()))
    async with ZOO.open("dependency_resolved_twice", database) as target:
        result = await run_case(
            target,
            scenario,
            interleaving,
            wiring="dependency_resolved_twice",
            db=database.kind,
            expected="lost_write",
        )

    assert result.observed == "lost_write"
    (extra,) = [f for f in result.guard_findings if f.kind is Kind.EXTRA_SESSION]
    assert extra.site == get_db
    assert extra.via == f"{ROUTE}, Depends: use_case -> conversations -> repository_db"
    assert f"(the first at {get_db} ({ROUTE}, Depends: use_case -> db))" in extra.message
    (lost,) = [f for f in result.guard_findings if f.kind is Kind.ACKNOWLEDGED_NOT_SAVED]
    assert lost.via == extra.via
