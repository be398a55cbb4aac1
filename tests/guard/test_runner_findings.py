"""The runner guards each request it sends and the reports carry what the guard found: one line
for a `two_sessions` cell, nothing for a fixed wiring's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import reference_app
from reference_app.adapter import RUNS_CODE_AFTER_RESPONSE, TARGET
from scenarios.case_result import CaseResult
from scenarios.databases import Database
from scenarios.matrix import MatrixRun
from scenarios.reporting.matrix import markdown_document, matrix_document
from scenarios.runner import run_case
from scenarios.scenario import load_pack
from tests.guard.conftest import line_of, second_session_site

FIRST_MESSAGE = next(s for s in load_pack() if s.name == "first_message_new_session")


async def run_first_message(database: Database, wiring: str) -> CaseResult:
    async with TARGET.open(wiring, database) as target:
        interleaving = next(iter(FIRST_MESSAGE.interleavings()))
        return await run_case(
            target,
            FIRST_MESSAGE,
            interleaving,
            wiring=wiring,
            db=database.kind,
            expected=TARGET.expected_outcome(
                FIRST_MESSAGE.name, interleaving.id, wiring, database.kind
            ),
        )


async def test_two_sessions_cell_says_it_in_one_line(database: Database) -> None:
    result = await run_first_message(database, "two_sessions")

    assert result.guard_summary == (
        f"2 sessions in one request; the second opened at {second_session_site()}; "
        "2 rows flushed and never committed"
    )
    cell = json.loads(json.dumps(result.as_dict()))
    assert cell["session_guard"] == result.guard_summary
    assert {f["kind"] for f in cell["session_guard_findings"]} == {
        "extra_session",
        "extra_connection",
        "lost_write",
    }
    run = MatrixRun(target="reference_app", results=[result])
    assert f"- `{result.id}`: {result.guard_summary}" in markdown_document(run).splitlines()
    assert matrix_document(run)["cells"][0]["session_guard"] == result.guard_summary


@pytest.mark.parametrize("wiring", ["shared_session", "commit_in_save", "unit_of_work"])
async def test_fixed_cells_say_nothing(database: Database, wiring: str) -> None:
    result = await run_first_message(database, wiring)

    assert result.observed == "ok"
    assert result.guard_findings == ()
    assert result.as_dict()["session_guard"] == ""
    document = markdown_document(MatrixRun(target="reference_app", results=[result]))
    assert "## Session guard" not in document


GET_DB_FILE = Path(reference_app.__file__).parent / "infrastructure" / "database.py"


def get_db_site() -> str:
    """`reference_app/infrastructure/database.py:LINE` of get_db's `session_maker()`."""
    line = line_of(GET_DB_FILE, "async with session_maker() as db:")
    return f"reference_app/infrastructure/database.py:{line}"


async def run_scenario(database: Database, name: str, wiring: str) -> CaseResult:
    scenario = next(s for s in load_pack() if s.name == name)
    interleaving = next(iter(scenario.interleavings()))
    async with TARGET.open(wiring, database) as target:
        return await run_case(
            target,
            scenario,
            interleaving,
            wiring=wiring,
            db=database.kind,
            expected=TARGET.expected_outcome(name, interleaving.id, wiring, database.kind),
        )


@pytest.mark.skipif(not RUNS_CODE_AFTER_RESPONSE, reason="FastAPI < 0.118 commits before answering")
async def test_commit_in_dependency_cell_names_the_response_sent_before_commit(
    database: Database,
) -> None:
    # The client reads while the app is held after its response; get_db commits afterwards.
    result = await run_scenario(database, "acknowledged_then_read", "commit_in_dependency")

    assert result.verdict == "as_expected"
    early = [f for f in result.guard_findings if f.kind.value == "response_before_commit"]
    assert [f.site for f in early] == [get_db_site()]
    assert "response sent before commit" in result.guard_summary + early[0].message
    assert get_db_site() in result.guard_summary


@pytest.mark.skipif(not RUNS_CODE_AFTER_RESPONSE, reason="FastAPI < 0.118 commits before answering")
async def test_a_failure_after_the_response_is_acknowledged_but_not_saved(
    database: Database,
) -> None:
    result = await run_scenario(database, "fault_after_response", "commit_in_dependency")

    assert result.verdict == "as_expected"
    lost = [f for f in result.guard_findings if f.kind.value == "acknowledged_not_saved"]
    assert [f.site for f in lost] == [get_db_site()]
    assert lost[0].status == 201
    assert lost[0].message.endswith("(the response had started before any commit)")


@pytest.mark.parametrize("name", ["acknowledged_then_read", "fault_after_response"])
async def test_the_fixed_wiring_commits_before_it_answers(database: Database, name: str) -> None:
    result = await run_scenario(database, name, "commit_before_response")

    assert result.observed == "ok"
    assert result.guard_findings == ()
