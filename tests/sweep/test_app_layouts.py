"""Any app layout, and requests as a team writes them: an app object with a module-level
container or engine, re-pointed by import path (no private attribute touched), swept from a
request file with a token and a server-made id; Core writes in a second session or connection
that a 2xx acknowledged are `lost_write`, named with the session's file:line, on both
databases; a request that fails is named by the driver's error, not the response body."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi import FastAPI

from scenarios.sweep import SweepResult, SweepVerdict
from scenarios.sweep.requests import (
    RequestPlan,
    SweepRequest,
    UsageError,
    load_request_file,
    plan_with_headers,
)
from scenarios.sweep.sources import AppSource
from tests.sweep import container_app, engine_app
from tests.sweep.conftest import Sweep

BLOG_REQUESTS = Path(__file__).parent / "requests" / "blog.toml"


def _blog_plan() -> RequestPlan:
    plan, headers = load_request_file(BLOG_REQUESTS)
    return plan_with_headers(plan, headers)


def _container(app: str) -> AppSource:
    return AppSource(
        app=f"tests.sweep.container_app:{app}",
        sessionmakers=("tests.sweep.container_app:container.session_maker",),
        metadata=("tests.sweep.container_app:metadata",),
    )


def _engine(app: str) -> AppSource:
    return AppSource(
        app=f"tests.sweep.engine_app:{app}",
        engines=("tests.sweep.engine_app:engine",),
        metadata=("tests.sweep.engine_app:metadata",),
    )


def _notes_plan() -> RequestPlan:
    plan = RequestPlan([SweepRequest.parse('POST /notes {"text": "hi"}')])
    return plan_with_headers(plan, [("X-API-Key", engine_app.API_KEY)])


def test_a_module_level_container_app_swept_from_a_request_file_is_atomic_when_clean(
    run_sweep: Sweep,
) -> None:
    original = container_app.container.session_maker.kw["bind"]
    result: SweepResult = run_sweep(_container("clean_app"), _blog_plan())
    assert result.atomic, [r.first.detail for r in result.requests]
    article, comment = result.requests
    assert article.first_status == 201
    assert comment.first_status == 201
    # the slug the server made in a setup request reached the path
    assert comment.request.path.startswith("/articles/commented-")
    assert article.statements >= 2
    assert comment.statements >= 1
    # the maker is bound back to the app's own engine afterwards
    assert container_app.container.session_maker.kw["bind"] is original


def test_core_writes_in_a_second_session_acknowledged_with_201_are_a_lost_write(
    run_sweep: Sweep, db: str
) -> None:
    result = run_sweep(_container("buggy_app"), _blog_plan())
    article, comment = result.requests
    assert comment.first_status == 201
    assert comment.first.outcome is SweepVerdict.LOST_WRITE
    assert "acknowledged but not saved" in comment.first.detail
    assert "comments: 1" in comment.first.detail
    assert "container_app.py:" in comment.first.detail  # the second session's file:line
    # the tagged article fails at once: the driver's code and the statement, not the body
    assert article.first.outcome is SweepVerdict.ERROR
    code = "SQLSTATE 23503" if db == "postgresql" else "SQLITE_BUSY"
    assert code in article.first.detail
    assert "INSERT article_tags" in article.first.detail
    assert not result.atomic


def test_a_module_level_engine_is_replaced_and_its_session_maker_rebound(
    run_sweep: Sweep,
) -> None:
    original = engine_app.engine
    result = run_sweep(_engine("clean_app"), _notes_plan())
    assert result.atomic, result.requests[0].first.detail
    assert result.requests[0].first.detail.endswith("2 row(s) written")
    assert engine_app.engine is original
    assert engine_app.SessionLocal.kw["bind"] is original


def test_a_core_write_on_a_bare_connection_never_committed_is_a_lost_write(
    run_sweep: Sweep,
) -> None:
    result = run_sweep(_engine("buggy_app"), _notes_plan())
    (request,) = result.requests
    assert request.first_status == 201
    assert request.first.outcome is SweepVerdict.LOST_WRITE
    assert "audit: 1" in request.first.detail
    assert "engine_app.py:" in request.first.detail


def test_without_the_token_the_write_route_is_refused_and_not_called_atomic(
    run_sweep: Sweep,
) -> None:
    plan = RequestPlan([SweepRequest.parse('POST /notes {"text": "hi"}')])
    result = run_sweep(_engine("clean_app"), plan)
    assert result.requests[0].first_status == 401
    assert not result.atomic


def test_an_app_left_on_its_own_database_is_stopped_before_any_statement(
    run_sweep: Sweep, tmp_path: Path
) -> None:
    own = tmp_path / "own.sqlite3"

    def factory(_url: str) -> FastAPI:  # ignores the scratch URL it is given
        from sqlalchemy.ext.asyncio import create_async_engine

        container_app.container.session_maker.configure(
            bind=create_async_engine(f"sqlite+aiosqlite:///{own}")
        )
        return container_app.clean_app

    original = container_app.container.session_maker.kw["bind"]
    try:
        with pytest.raises(UsageError, match="not the sweep's scratch database"):
            run_sweep(factory, 'POST /users {"username": "x"}')
    finally:
        container_app.container.session_maker.configure(bind=original)
    if own.exists():  # connecting may create the file; no statement reached it
        tables = sqlite3.connect(own).execute("SELECT name FROM sqlite_master").fetchall()
        assert tables == []
