"""The sweep on the reference app, wired four ways, with none of its checkpoints: only an app
factory (examples/sweep_factories.py) and one request line."""

from __future__ import annotations

import pytest

from examples import sweep_factories as apps
from scenarios.databases import PostgresUnavailable
from scenarios.sweep import SweepVerdict
from scenarios.sweep.pytest_plugin import run_sweep_blocking
from tests.conftest import without_postgres
from tests.sweep.conftest import Sweep, commit_indexes


def test_commit_in_save_leaves_partial_commits_exactly_after_its_first_commit(
    run_sweep: Sweep,
) -> None:
    result = run_sweep(apps.commit_in_save, apps.SEND)
    (request,) = result.requests
    assert request.first.outcome is SweepVerdict.OK
    commits = commit_indexes(request)
    assert len(commits) >= 2, "commit_in_save commits once per save"
    first_commit, last_commit = commits[0], commits[-1]
    for boundary in request.boundaries:
        index = boundary.event.index
        expected = (
            SweepVerdict.PARTIAL_COMMIT if first_commit < index <= last_commit else SweepVerdict.OK
        )
        assert boundary.judgement.outcome is expected, (index, boundary.judgement.detail)
    assert len(request.boundaries) == len(request.timeline), "every boundary was run"
    assert not result.atomic


@pytest.mark.parametrize("wiring", ["shared_session", "unit_of_work"])
def test_the_fixed_wirings_are_atomic_at_every_boundary(run_sweep: Sweep, wiring: str) -> None:
    result = run_sweep(getattr(apps, wiring), apps.SEND)
    (request,) = result.requests
    assert request.first_status == 201
    assert request.statements >= 6, "the request was really swept"
    assert commit_indexes(request)
    assert request.timeline[-1].kind == "response"
    assert [b.judgement.outcome for b in request.boundaries] == [SweepVerdict.OK] * len(
        request.timeline
    )
    # Before the commit nothing stays; at the response start all four rows do.
    assert not request.boundaries[0].judgement.changes
    assert len(request.boundaries[-1].judgement.changes) == 4
    assert result.atomic


def test_two_sessions_fails_a_new_chat_with_no_fault_injected(run_sweep: Sweep, db: str) -> None:
    result = run_sweep(apps.two_sessions, apps.SEND)
    (request,) = result.requests
    assert request.first.outcome is SweepVerdict.ERROR
    # The incident app's symptoms: the FK error on Postgres, the second writer's bounded wait on
    # SQLite.
    code = {"postgresql": "23503", "sqlite": "SQLITE_BUSY"}[db]
    assert code in request.first.detail
    assert not result.atomic


@pytest.mark.postgres
def test_two_sessions_acknowledges_a_message_to_an_existing_chat_and_loses_it() -> None:
    try:
        result = run_sweep_blocking(
            apps.two_sessions_existing_chat, apps.SEND_TO_EXISTING, db="postgresql"
        )
    except PostgresUnavailable as unavailable:
        without_postgres(unavailable)
    (request,) = result.requests
    assert request.first_status == 201
    assert request.first.outcome is SweepVerdict.LOST_WRITE
    assert "messages: 2" in request.first.detail  # the guard's count, with the session's site
    assert "reference_app/" in request.first.detail
    assert not result.atomic
