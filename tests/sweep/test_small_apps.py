"""The sweep on small apps written here (tests/sweep/small_apps.py): a clean one and its buggy
twin, async behind ASGI and sync behind WSGI, and an app that swallows the injected error."""

from __future__ import annotations

import pytest

from scenarios.sweep import SweepVerdict, snapshot
from scenarios.sweep.pytest_plugin import run_sweep_blocking
from tests.sweep import small_apps as apps
from tests.sweep.conftest import Sweep, commit_indexes, outcomes_by_boundary


@pytest.mark.parametrize("factory", [apps.clean_orders, apps.wsgi_clean_orders])
def test_one_commit_per_request_is_atomic_at_every_boundary(run_sweep: Sweep, factory) -> None:
    result = run_sweep(factory, apps.ORDER)
    (request,) = result.requests
    assert outcomes_by_boundary(request) == {
        "1S": SweepVerdict.OK,  # INSERT orders
        "2S": SweepVerdict.OK,  # INSERT order_lines
        "3S": SweepVerdict.OK,  # INSERT order_lines
        "4C": SweepVerdict.OK,  # COMMIT
        "5R": SweepVerdict.OK,  # the 201 never reaches the client; all three rows stayed
    }
    assert [len(b.judgement.changes) for b in request.boundaries] == [0, 0, 0, 0, 3]
    assert result.atomic
    assert result.app_kind == ("asgi" if factory is apps.clean_orders else "wsgi")


@pytest.mark.parametrize(
    "factory", [apps.line_repository_commits, apps.wsgi_line_repository_commits]
)
def test_a_repository_that_commits_on_its_own_leaves_partial_commits(
    run_sweep: Sweep, factory
) -> None:
    result = run_sweep(factory, apps.ORDER)
    (request,) = result.requests
    assert commit_indexes(request) == [3, 5]
    assert outcomes_by_boundary(request) == {
        "1S": SweepVerdict.OK,
        "2S": SweepVerdict.OK,
        "3C": SweepVerdict.OK,  # the repository's own commit fails: nothing stayed
        "4S": SweepVerdict.PARTIAL_COMMIT,  # the order and its first line stayed, not the second
        "5C": SweepVerdict.PARTIAL_COMMIT,
        "6R": SweepVerdict.OK,
    }
    partial = request.boundaries[3].judgement
    assert {(c.table, c.kind) for c in partial.changes} == {
        ("orders", "inserted"),
        ("order_lines", "inserted"),
    }
    assert "orders(1) inserted" in partial.detail
    assert not result.atomic


def test_an_app_that_swallows_the_injected_error_and_answers_201_is_reported(
    run_sweep: Sweep,
) -> None:
    result = run_sweep(apps.swallowing_orders, apps.ORDER)
    (request,) = result.requests
    assert request.first.outcome is SweepVerdict.OK  # with no fault it works
    swallowed = [b for b in request.boundaries if b.event.kind != "response"]
    assert [b.status for b in swallowed] == [201, 201, 201, 201]
    assert [b.judgement.outcome for b in swallowed] == [SweepVerdict.LOST_WRITE] * 4
    assert "swallowed" in swallowed[0].judgement.detail
    # the guard's word for it, with the session's file:line
    assert "acknowledged but not saved" in swallowed[-1].judgement.detail
    assert "small_apps.py:" in swallowed[-1].judgement.detail
    assert not result.atomic


def test_each_request_starts_where_the_one_before_left_the_data(run_sweep: Sweep) -> None:
    second = 'POST /orders {"customer": "bob", "skus": ["jam"]}'
    result = run_sweep(apps.clean_orders, apps.ORDER, second)
    assert [r.first_status for r in result.requests] == [201, 201]
    # The second order gets id 2 on every run: the restore puts sequences back too.
    last = result.requests[1].boundaries[-1].judgement.changes
    assert {(c.table, c.key) for c in last} == {("orders", (2,)), ("order_lines", (3,))}
    assert result.atomic


def test_a_lock_the_app_leaves_behind_stops_the_sweep_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sweep's restore waits out its own bound on the leaked lock, once; nothing else writes
    # here, so a bound of 1 s instead of the generous 5 s takes the same path, 4 s sooner.
    monkeypatch.setattr(snapshot, "OWN_SQLITE_TIMEOUT_S", 1.0)
    try:
        result = run_sweep_blocking(apps.lock_leaking_orders, apps.ORDER, db="sqlite")
    finally:
        apps.close_leaked()
    (request,) = result.requests
    assert request.first_status == 201
    assert request.stopped is not None
    assert "stopped at boundary 1S" in request.stopped
    assert "database is locked" in request.stopped
    assert not result.atomic


def test_a_request_that_does_not_repeat_its_statements_is_not_vouched_for(
    run_sweep: Sweep,
) -> None:
    result = run_sweep(apps.wavering_orders, apps.ORDER)
    (request,) = result.requests
    assert request.timeline[0].sql == "SELECT 1"  # the first run read once more
    first_boundary = request.boundaries[0]  # rerun without the extra read
    assert first_boundary.judgement.outcome is SweepVerdict.NOT_REACHED
    assert first_boundary.struck_sql is not None
    assert first_boundary.struck_sql.startswith("INSERT INTO orders")
    assert not result.atomic


def test_a_commit_after_the_response_that_fails_is_a_lost_write(run_sweep: Sweep) -> None:
    result = run_sweep(apps.commit_after_response, 'POST /orders {"customer": "ada"}')
    (request,) = result.requests
    assert [e.kind for e in request.timeline] == ["statement", "response", "commit"]
    assert outcomes_by_boundary(request) == {
        "1S": SweepVerdict.OK,
        "2R": SweepVerdict.OK,  # no 201 left the app, and nothing was committed
        "3C": SweepVerdict.LOST_WRITE,  # the client had its 201 when the commit failed
    }
    assert request.boundaries[2].status == 201
    assert "orders: 1" in request.boundaries[2].judgement.detail
    assert "the response had started before any commit" in request.boundaries[2].judgement.detail
