"""The sweep on a MariaDB/MySQL scratch database (HARNESS_MARIADB_URL): atomic where the app is,
the planted half-write and the incident's bug found, and the incident's foreign-key lock wait
reported as error 1205 in about a second although the app's own engine leaves InnoDB's 50 s."""

from __future__ import annotations

import time

import pytest

from scenarios.mariadb import MariaDBUnavailable
from scenarios.sweep import SweepResult, SweepVerdict
from scenarios.sweep.pytest_plugin import run_sweep_blocking
from scenarios.sweep.requests import RequestPlan, SweepRequest
from tests.conftest import without_mariadb
from tests.sweep import chat_apps, small_apps
from tests.sweep.conftest import outcomes_by_boundary

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]


def _sweep(factory: object, *requests: str, setup: tuple[str, ...] = ()) -> SweepResult:
    plan = RequestPlan(
        [SweepRequest.parse(r) for r in requests], [SweepRequest.parse(r) for r in setup]
    )
    try:
        return run_sweep_blocking(factory, plan, db="mariadb")  # type: ignore[arg-type]
    except MariaDBUnavailable as unavailable:
        without_mariadb(unavailable)


def test_one_commit_per_request_is_atomic_on_mariadb() -> None:
    result = _sweep(small_apps.clean_orders, small_apps.ORDER)
    assert result.atomic, result.requests[0].boundaries
    assert result.db == "mariadb"


def test_a_repository_that_commits_on_its_own_leaves_a_half_write_on_mariadb() -> None:
    result = _sweep(small_apps.line_repository_commits, small_apps.ORDER)
    (request,) = result.requests
    assert outcomes_by_boundary(request) == {
        "1S": SweepVerdict.OK,
        "2S": SweepVerdict.OK,
        "3C": SweepVerdict.OK,
        "4S": SweepVerdict.PARTIAL_COMMIT,
        "5C": SweepVerdict.PARTIAL_COMMIT,
        "6R": SweepVerdict.OK,
    }
    assert not result.atomic


def test_the_shared_session_chat_is_atomic_on_mariadb() -> None:
    result = _sweep(
        chat_apps.shared_session_chats,
        chat_apps.NEW_CHAT,
        chat_apps.EXISTING_CHAT,
        setup=(chat_apps.SEED_CHAT,),
    )
    assert result.atomic, [r.first.detail for r in result.requests]


def test_the_seeds_new_chat_is_a_1205_lock_wait_in_about_a_second() -> None:
    """The app's engine has InnoDB's 50 s wait; the sweep bounds it to one second."""
    started = time.perf_counter()
    result = _sweep(chat_apps.two_session_chats, chat_apps.NEW_CHAT)
    elapsed = time.perf_counter() - started
    (request,) = result.requests
    assert request.first.outcome is SweepVerdict.ERROR
    assert request.first_status == 500
    assert "1205" in request.first.detail
    assert "Lock wait timeout" in request.first.detail
    assert elapsed < 20  # every run waits about a second, never 50 s or the 30 s request bound
    assert not result.atomic


def test_the_seeds_existing_chat_loses_the_repositorys_write() -> None:
    result = _sweep(
        chat_apps.two_session_chats, chat_apps.EXISTING_CHAT, setup=(chat_apps.SEED_CHAT,)
    )
    (request,) = result.requests
    assert request.first.outcome is SweepVerdict.LOST_WRITE
    assert "chat_apps.py" in request.first.detail
