"""The runner guards each request it sends and the reports carry what the guard found: one line
for a `two_sessions` cell, nothing for a fixed wiring's."""

from __future__ import annotations

import json

import pytest

from reference_app.adapter import TARGET
from scenarios.databases import Database
from scenarios.matrix import MatrixRun
from scenarios.report import markdown_document, matrix_document
from scenarios.runner import CaseResult, run_case
from scenarios.scenario import load_pack
from tests.guard.conftest import second_session_site

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
