"""Random request histories against every reference wiring on SQLite and Postgres.

The fixed wirings must keep every history; the buggy ones must be *found* by the search and
shrunk, and the shrunk example is written to reports/stateful-WIRING-DB.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from reference_app.adapter import TARGET
from scenarios.databases import Database
from scenarios.expectations import requirement_met
from scenarios.outcomes import ACKNOWLEDGED_BEFORE_COMMIT, Outcome
from scenarios.stateful import (
    INTERLEAVING,
    SCENARIO_NAME,
    SearchOptions,
    SearchResult,
    open_machine,
    search,
    write_report,
)

# FastAPI runs a dependency's code after `yield` after the response only since 0.118 (before,
# the reference target declares no after_response point), and has `Depends(..., scope=
# "function")`, commit_before_response's fix, only since 0.121; the lowest-versions run has
# neither, and the matrix's [holds_for] covers commit_in_dependency there.
AFTER_RESPONSE_POINT = pytest.mark.skipif(
    not requirement_met("fastapi>=0.118"),
    reason="needs FastAPI >= 0.118 (code after yield runs after the response)",
)
FUNCTION_SCOPE = pytest.mark.skipif(
    not requirement_met("fastapi>=0.121"),
    reason="needs FastAPI >= 0.121 (code after yield after the response; Depends scope)",
)


def _search(
    wiring: str,
    database: Database,
    search_settings: settings,
    options: SearchOptions | None = None,
) -> SearchResult:
    return _search_counted(wiring, database, search_settings, options)[0]


def _search_counted(
    wiring: str,
    database: Database,
    search_settings: settings,
    options: SearchOptions | None = None,
) -> tuple[SearchResult, int]:
    """The result, and how many steps read (and maybe failed) after a response."""
    result, stats = _search_with_stats(wiring, database, search_settings, options)
    return result, stats.after_response


def _search_with_stats(
    wiring: str,
    database: Database,
    search_settings: settings,
    options: SearchOptions | None = None,
) -> tuple[SearchResult, Any]:
    """The result, and the machine's counts (steps after a response, connections taken back)."""
    with open_machine(TARGET, wiring, database, options=options) as machine:
        return search(machine, search_settings), machine.stats


def _record(result: SearchResult, wiring: str, database: Database, reports_dir: Path) -> str:
    expected = TARGET.expected_outcome(SCENARIO_NAME, INTERLEAVING, wiring, database.kind)
    write_report(
        result,
        reports_dir,
        target=TARGET.name,
        wiring=wiring,
        db=database.kind,
        expected=expected,
    )
    return expected


@pytest.mark.parametrize("wiring", ["shared_session", "unit_of_work"])
def test_fixed_wirings_keep_every_random_history(
    wiring: str, database: Database, search_settings: settings, reports_dir: Path
) -> None:
    """Also the leak detector's clean twin (it fires on the zoo's leaking wirings,
    tests/stateful/test_leaks.py): connections are checked after every step, so a wiring that
    returns its connections is never called leaky, and nothing is ever taken back."""
    result, stats = _search_with_stats(wiring, database, search_settings)
    _record(result, wiring, database, reports_dir)
    assert result.findings == (), result.summary()
    assert result.examples >= search_settings.max_examples
    assert stats.taken_back == 0


def test_two_sessions_is_found_at_its_first_write(
    database: Database, fresh_search_settings: settings, reports_dir: Path
) -> None:
    """What the search guarantees, not a shrink shape (Hypothesis does not promise one): the
    outcome, within one example's steps, failing at the first request that tries to write a
    chat session; whatever steps shrinking left before it wrote nothing."""
    result = _search("two_sessions", database, fresh_search_settings)
    expected = _record(result, "two_sessions", database, reports_dir)
    # Postgres fails the agent context's FK at once; SQLite's second writer runs out of time.
    assert expected in {Outcome.FK_VIOLATION.value, Outcome.LOCK_TIMEOUT.value}
    assert result.outcome.value == expected, result.summary()
    primary = result.primary
    assert primary is not None
    assert 1 <= len(primary.steps) <= fresh_search_settings.stateful_step_count, primary.steps
    assert "new chat session" in primary.steps[-1]
    assert not [step for step in primary.steps[:-1] if "HTTP 201" in step], primary.steps
    assert primary.reproduction, "Hypothesis's falsifying example is kept for the report"


def test_commit_in_save_partial_commit_is_found(
    database: Database, fresh_search_settings: settings, reports_dir: Path
) -> None:
    # Without concurrent requests, so that a race (a split exchange, which does not replay)
    # cannot be the first failure: a fault after the first save is, deterministically.
    sequential = SearchOptions(concurrency=False)
    result = _search("commit_in_save", database, fresh_search_settings, sequential)
    expected = _record(result, "commit_in_save", database, reports_dir)
    assert Outcome.PARTIAL_COMMIT.value in expected
    found = result.finding(Outcome.PARTIAL_COMMIT)
    assert found is not None, result.summary()
    # The last step is a request that failed (by an injected fault, or by losing a race with a
    # retryable code), and rows it saved before failing are committed.
    assert "injected_fault" in found.steps[-1] or "HTTP 409" in found.steps[-1], found.steps
    assert "of a failed request committed" in found.message


@AFTER_RESPONSE_POINT
def test_commit_in_dependency_is_found_acknowledged_before_commit(
    database: Database, fresh_search_settings: settings, reports_dir: Path
) -> None:
    """get_db commits after `yield`, after the response: a read at once after the 201 does not
    find the rows (and a fault there would lose them). The outcome and where it shows, not a
    shrink shape: the failing step is a 201 read at once after its response."""
    result = _search("commit_in_dependency", database, fresh_search_settings)
    expected = _record(result, "commit_in_dependency", database, reports_dir)
    assert expected == Outcome.LOST_WRITE.value
    assert result.outcome is Outcome.LOST_WRITE, result.summary()
    lost = result.primary
    assert lost is not None
    assert 1 <= len(lost.steps) <= fresh_search_settings.stateful_step_count, lost.steps
    assert "read at once after its response" in lost.steps[-1], lost.steps
    assert "HTTP 201" in lost.steps[-1], lost.steps
    assert lost.message.startswith(ACKNOWLEDGED_BEFORE_COMMIT), lost.message


@FUNCTION_SCOPE
def test_commit_before_response_keeps_every_history_read_after_its_response(
    database: Database, search_settings: settings, reports_dir: Path
) -> None:
    """The clean twin, one argument away (`scope="function"`): the same reads at once after the
    201, and faults after the response, find every row committed."""
    result, after_response = _search_counted("commit_before_response", database, search_settings)
    _record(result, "commit_before_response", database, reports_dir)
    assert result.findings == (), result.summary()
    assert after_response > 0, "no step read after a response: the search proved nothing"
