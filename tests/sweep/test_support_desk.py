"""The sweep on the second app, examples/support_desk (sync SQLAlchemy behind FastAPI's
threadpool, its own schema and DI), with nothing but an app factory and a request."""

from __future__ import annotations

from examples import sweep_factories as desk
from scenarios.sweep import SweepVerdict
from tests.sweep.conftest import Sweep


def test_the_desk_as_shipped_is_atomic_at_every_boundary(run_sweep: Sweep) -> None:
    result = run_sweep(desk.desk_scoped_session, desk.ASK)
    (request,) = result.requests
    assert request.first_status == 201
    assert request.statements >= 5
    assert request.commits == 1
    assert {b.judgement.outcome for b in request.boundaries} == {SweepVerdict.OK}
    assert len(request.boundaries) == len(request.timeline)
    assert result.atomic


def test_its_buggy_twin_fails_a_new_thread_with_no_fault_injected(
    run_sweep: Sweep, db: str
) -> None:
    result = run_sweep(desk.desk_fresh_session, desk.ASK)
    (request,) = result.requests
    assert request.first.outcome is SweepVerdict.ERROR
    assert {"postgresql": "23503", "sqlite": "SQLITE_BUSY"}[db] in request.first.detail
    assert not result.atomic
