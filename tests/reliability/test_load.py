"""N concurrent requests over M chat sessions: nothing acknowledged is lost, nothing failed is
left behind, positions stay unique and gapless, and every failure is clear and retryable (a 409
conflict, or a 503 when an overloaded machine makes a request wait past the pool's bound)."""

from __future__ import annotations

import pytest

from benchmarks.load import LoadPlan, run_load
from scenarios.databases import Database
from tests.reliability.conftest import ReliabilityReport
from tests.reliability.support import violations


@pytest.mark.parametrize("wiring", ["shared_session", "unit_of_work"])
async def test_fixed_wiring_under_load_loses_nothing_and_leaves_nothing(
    clean_database: Database,
    wiring: str,
    load_plan: LoadPlan,
    reliability_report: ReliabilityReport,
) -> None:
    audit = await run_load(clean_database, wiring, load_plan)
    reliability_report.load.append(audit.as_dict())
    assert violations(audit) == []
    assert audit.acknowledged > 0, audit.failures_by_code()
    assert audit.stored == audit.acknowledged


async def test_commit_in_save_under_load_shows_only_its_documented_partial_commits(
    clean_database: Database, load_plan: LoadPlan, reliability_report: ReliabilityReport
) -> None:
    """Every save commits, so a request that fails later leaves what it saved ("partial"), and
    a racing request's message can land between another's question and reply ("interleaved").
    Both are counted in the report; anything else is a defect."""
    audit = await run_load(clean_database, "commit_in_save", load_plan)
    reliability_report.load.append(audit.as_dict())
    assert violations(audit, allowed={"partial", "interleaved"}) == []
    assert audit.acknowledged > 0, audit.failures_by_code()


async def test_two_sessions_under_load_loses_every_message_it_is_sent(
    clean_database: Database, load_plan: LoadPlan, reliability_report: ReliabilityReport
) -> None:
    """The incident app's bug, asserted: the repository's session never commits, so not one
    message of the load is stored, and every 201 it gives is a silent loss."""
    audit = await run_load(clean_database, "two_sessions", load_plan)
    reliability_report.load.append(audit.as_dict())
    assert audit.stored == 0
    assert audit.count("lost") == audit.acknowledged
    assert violations(audit, allowed={"lost", "unclear"}) == []
