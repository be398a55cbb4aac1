"""Each request one unit, as `--session-guard` makes it, on small apps written here: every
buggy wiring is named (kind, file:line, route and `Depends`), its clean twin stays silent, and
what the guard says was lost is checked with plain SQL on a connection of its own. Driven the
ways suites drive apps: httpx AsyncClient + ASGITransport, Starlette's TestClient, Flask's test
client, with fixtures that seed and read back through sessions of their own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from scenarios.databases import Database
from scenarios.guard import GuardFinding, Kind, middleware
from scenarios.guard.clients import watch_test_clients
from scenarios.guard.middleware import SessionGuardMiddleware, pop_sink, push_sink
from tests.guard.apps import notes_api
from tests.guard.apps.notes_api import Base, Note, build_app
from tests.guard.apps.notes_flask import create_app
from tests.guard.apps.notes_use_cases import build_use_case_app
from tests.guard.conftest import line_of

APP_FILE = Path(notes_api.__file__)
FLASK_FILE = APP_FILE.with_name("notes_flask.py")
USE_CASES_FILE = APP_FILE.with_name("notes_use_cases.py")
THIS_FILE = Path(__file__)
TASK_SESSION_TAG = "# guard-test" + ": task session"  # split, so only the tagged line matches


def site(tag: str, path: Path = APP_FILE) -> str:
    return f"tests/guard/apps/{path.name}:{line_of(path, f'# guard: {tag}')}"


Units = list[Sequence[GuardFinding]]


@pytest.fixture
def watched() -> Iterator[Units]:
    """What the flag does: test clients send each request through the guard's middleware, and
    every request's findings (an empty tuple for a clean one) arrive here."""
    units: Units = []
    push_sink(units.append)
    undo = watch_test_clients()
    try:
        yield units
    finally:
        undo()
        pop_sink(units.append)


def engine_for(url: str, **kwargs: object) -> AsyncEngine:
    """Bounded waits: a second writer on SQLite fails in 0.2 s, a Postgres lock in 200 ms."""
    if url.startswith("sqlite"):
        return create_async_engine(url, connect_args={"timeout": 0.2}, **kwargs)
    settings = {"lock_timeout": "200ms", "statement_timeout": "5s"}
    return create_async_engine(url, connect_args={"server_settings": settings}, **kwargs)


@pytest.fixture
async def notes_engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = engine_for(database.url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
            await connection.execute(text("DELETE FROM guard_api_notes"))
        yield engine
    finally:
        await engine.dispose()


async def stored_notes(engine: AsyncEngine) -> int:
    """Plain SQL on a connection of its own (never the app's session)."""
    async with engine.connect() as connection:
        return int(await connection.scalar(text("SELECT count(*) FROM guard_api_notes")) or 0)


# wiring -> (finding kinds, where the guilty session was opened, notes' kinds, rows kept)
EXPECTED: dict[str, tuple[set[Kind], str | None, set[Kind], int]] = {
    "clean": (set(), None, set(), 1),
    "repository_own_session": (
        {Kind.EXTRA_SESSION, Kind.EXTRA_CONNECTION, Kind.ACKNOWLEDGED_NOT_SAVED},
        "repository session",
        set(),
        0,
    ),
    "core_own_session": (
        {Kind.EXTRA_SESSION, Kind.EXTRA_CONNECTION, Kind.ACKNOWLEDGED_NOT_SAVED},
        "core session",
        set(),
        0,
    ),
    "core_clean": (set(), None, set(), 1),
    "commit_in_dependency": ({Kind.RESPONSE_BEFORE_COMMIT}, "get_db committing", set(), 1),
    "commit_in_dependency_function_scope": (set(), None, set(), 1),
    "forgotten_commit": ({Kind.ACKNOWLEDGED_NOT_SAVED}, "get_db session", set(), 0),
    "unflushed_add": ({Kind.ACKNOWLEDGED_NOT_SAVED}, "get_db session", set(), 0),
    "swallowed_error": ({Kind.ACKNOWLEDGED_NOT_SAVED}, "get_db session", set(), 0),
    "depends_twice": (
        {Kind.EXTRA_SESSION, Kind.EXTRA_CONNECTION, Kind.ACKNOWLEDGED_NOT_SAVED},
        "get_db session",
        set(),
        0,
    ),
    "read_only_lookup": (set(), None, {Kind.READ_ONLY_SESSION}, 1),
    "background_own_session": (set(), None, set(), 2),
    "background_lost": ({Kind.LOST_WRITE}, "job session", set(), 1),
    "task_own_session": (set(), None, set(), 2),
    "task_lost": ({Kind.LOST_WRITE}, "job session", set(), 1),
}


def test_every_wiring_of_the_small_app_has_an_expectation() -> None:
    assert set(EXPECTED) == set(notes_api.WIRINGS)


@pytest.mark.parametrize("wiring", list(EXPECTED))
async def test_httpx_asgi_requests_are_units(
    notes_engine: AsyncEngine, watched: Units, wiring: str
) -> None:
    kinds, tag, note_kinds, kept = EXPECTED[wiring]
    transport = httpx.ASGITransport(build_app(notes_engine, wiring))
    async with httpx.AsyncClient(transport=transport, base_url="http://notes") as client:
        response = await client.post("/notes", json={"body": "hello"})

    assert response.status_code == 201
    assert len(watched) == 1
    findings = [f for f in watched[0] if not f.note]
    assert {f.kind for f in findings} == kinds
    assert {f.kind for f in watched[0] if f.note} == note_kinds
    if tag is not None:
        guilty = [f for f in findings if f.kind is not Kind.EXTRA_CONNECTION]
        assert {f.site for f in guilty} == {site(tag)}
        assert all(f.unit.startswith("POST /notes") for f in findings)
    assert await stored_notes(notes_engine) == kept  # what the guard claims, in the database


async def test_depends_twice_names_the_parameter_that_asked_for_the_extra_session(
    notes_engine: AsyncEngine, watched: Units
) -> None:
    transport = httpx.ASGITransport(build_app(notes_engine, "depends_twice"))
    async with httpx.AsyncClient(transport=transport, base_url="http://notes") as client:
        await client.post("/notes", json={"body": "hello"})

    (extra,) = [f for f in watched[0] if f.kind is Kind.EXTRA_SESSION]
    assert extra.via == "route POST /notes, Depends: audit_db"
    assert (
        f"the first at {site('get_db session')} (route POST /notes, Depends: db)" in extra.message
    )


async def test_commit_after_the_response_names_get_db(
    notes_engine: AsyncEngine, watched: Units
) -> None:
    transport = httpx.ASGITransport(build_app(notes_engine, "commit_in_dependency"))
    async with httpx.AsyncClient(transport=transport, base_url="http://notes") as client:
        await client.post("/notes", json={"body": "hello"})

    (early,) = watched[0]
    assert early.message.startswith("response sent before commit: the response (201) started")
    assert early.site == site("get_db committing")
    assert early.via == "route POST /notes, Depends: db"


@pytest.mark.parametrize("wiring", ["clean", "repository_own_session"])
async def test_a_route_behind_base_http_middleware_is_still_one_unit(
    notes_engine: AsyncEngine, watched: Units, wiring: str
) -> None:
    """`@app.middleware("http")` runs the route in a task of its own: still the request."""
    app = build_app(notes_engine, wiring, http_middleware=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://notes"
    ) as client:
        await client.post("/notes", json={"body": "hello"})
    assert {f.kind for f in watched[0] if not f.note} == EXPECTED[wiring][0]


async def test_fixture_work_before_and_after_the_request_is_not_counted(
    notes_engine: AsyncEngine, watched: Units
) -> None:
    """A suite seeds with a session of its own, calls the app, reads back with another."""
    async with notes_engine.connect() as seeding, seeding.begin():
        await seeding.execute(insert(Note).values(body="seeded"))
    transport = httpx.ASGITransport(build_app(notes_engine, "clean"))
    async with httpx.AsyncClient(transport=transport, base_url="http://notes") as client:
        await client.post("/notes", json={"body": "hello"})
        counted = await client.get("/notes/count")
    assert counted.json() == {"count": 2}
    assert [list(unit) for unit in watched] == [[], []]


# -- Starlette's TestClient (sync tests; the app runs in the client's own event loop) ----------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'notes.sqlite3'}"
    sync = create_engine(url.replace("+aiosqlite", ""))
    Base.metadata.create_all(sync)
    sync.dispose()
    return url


@pytest.mark.parametrize("wiring", ["clean", "repository_own_session", "commit_in_dependency"])
def test_test_client_requests_are_units(sqlite_url: str, watched: Units, wiring: str) -> None:
    engine = engine_for(sqlite_url, poolclass=NullPool)  # the client's loop is not ours
    with TestClient(build_app(engine, wiring)) as client:
        response = client.post("/notes", json={"body": "hello"})
    assert response.status_code == 201
    assert {f.kind for f in watched[0] if not f.note} == EXPECTED[wiring][0]


# -- Flask's test client (WSGI, sync SQLAlchemy) -------------------------------------------------


@pytest.mark.parametrize("wiring", ["clean", "repository_own_session"])
def test_flask_test_client_requests_are_units(tmp_path: Path, watched: Units, wiring: str) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'flask.sqlite3'}", connect_args={"timeout": 0.2})
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as seeding:  # a fixture's own session: not the request's
            seeding.add(Note(body="seeded"))
            seeding.commit()
        client = create_app(engine, wiring).test_client()
        response = client.post("/notes", json={"body": "hello"})
        assert response.status_code == 201
        assert client.get("/notes/count").json == {"count": 2 if wiring == "clean" else 1}
    finally:
        engine.dispose()

    findings = [f for f in watched[0] if not f.note]
    if wiring == "clean":
        assert watched == [(), ()]
    else:
        assert {f.kind for f in findings} == {
            Kind.EXTRA_SESSION,
            Kind.EXTRA_CONNECTION,
            Kind.ACKNOWLEDGED_NOT_SAVED,
        }
        assert {f.site for f in findings if f.kind is Kind.EXTRA_SESSION} == {
            site("flask repository session", FLASK_FILE)
        }
        assert all(f.unit == "POST /notes" for f in findings)
        assert list(watched[1]) == []


# -- the middleware in an app of its own (a live server, staging): logs, never raises -----------


async def test_middleware_in_collect_mode_logs_and_never_raises(
    notes_engine: AsyncEngine, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(middleware, "_sinks", [])  # no pytest run collecting (even under the flag)
    app = SessionGuardMiddleware(build_app(notes_engine, "repository_own_session"))
    with caplog.at_level(logging.WARNING, logger="scenarios.guard"):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://notes"
        ) as client:
            response = await client.post("/notes", json={"body": "hello"})
    assert response.status_code == 201
    logged = [r.getMessage() for r in caplog.records if r.name == "scenarios.guard"]
    assert any(site("repository session") in line for line in logged)
    assert all(line.startswith("session guard (POST /notes): ") for line in logged)


# -- shapes met in public suites ------------------------------------------------------------------


@pytest.mark.parametrize("buggy", [False, True], ids=["clean", "buggy"])
async def test_a_suite_that_binds_every_session_to_one_outer_transaction(
    notes_engine: AsyncEngine, watched: Units, buggy: bool
) -> None:
    """rhoboro/async-fastapi-sqlalchemy's conftest: the maker dependency is overridden with one
    bound to a single connection in an outer transaction, rolled back after the test. Every
    session shares that connection, which hides the bug from the data (DESIGN.md); the guard
    still counts sessions, not connections."""
    app = build_use_case_app(notes_engine, buggy=buggy)
    async with notes_engine.connect() as connection:
        await connection.begin()
        await connection.begin_nested()
        bound = async_sessionmaker(bind=connection, expire_on_commit=False)

        async def bound_maker() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
            yield bound

        app.dependency_overrides[app.state.get_maker] = bound_maker
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://notes"
        ) as client:
            response = await client.post("/notes", json={"body": "hello"})
        await connection.rollback()

    assert response.status_code == 201
    findings = [f for f in watched[0] if not f.note]
    if not buggy:
        assert findings == []
        return
    assert {f.kind for f in findings} == {Kind.EXTRA_SESSION, Kind.ACKNOWLEDGED_NOT_SAVED}
    assert {f.site for f in findings} == {site("use case second session", USE_CASES_FILE)}


@pytest.mark.parametrize("wiring", ["clean", "repository_own_session"])
def test_flask_form_post_answered_with_a_redirect_inside_a_pushed_app_context(
    tmp_path: Path, watched: Units, wiring: str
) -> None:
    """flaskr's suite: the fixture pushes an app context and seeds through the app's own
    scoped session; a form POST is answered 302 (the HTML way of saying "saved")."""
    engine = create_engine(
        f"sqlite:///{tmp_path / 'flaskr.sqlite3'}", connect_args={"timeout": 0.2}
    )
    Base.metadata.create_all(engine)
    app = create_app(engine, wiring)
    try:
        with app.app_context():
            db = app.extensions["notes_db"]
            db.add(Note(body="seeded"))
            db.commit()
            response = app.test_client().post("/notes/form", data={"body": "hello"})
            db.remove()
    finally:
        engine.dispose()

    assert response.status_code == 302
    findings = [f for f in watched[0] if not f.note]
    if wiring == "clean":
        assert findings == []
        return
    acknowledged = [f for f in findings if f.kind is Kind.ACKNOWLEDGED_NOT_SAVED]
    assert [(f.status, f.site) for f in acknowledged] == [
        (302, site("flask repository session", FLASK_FILE))
    ]
    assert acknowledged[0].unit == "POST /notes/form"


@pytest.mark.parametrize("commit", [True, False], ids=["clean", "buggy"])
async def test_a_task_that_outlives_its_request_is_judged_when_it_ends(
    notes_engine: AsyncEngine, watched: Units, commit: bool
) -> None:
    """A fire-and-forget `asyncio.create_task` is a unit of its own, named after the request
    that started it, and reported when the task ends (here: after the response)."""
    maker = async_sessionmaker(notes_engine)
    release = asyncio.Event()
    started: list[asyncio.Task[None]] = []
    app = FastAPI()

    async def later(body: str) -> None:
        await release.wait()
        async with maker() as own:  # guard-test: task session
            own.add(Note(body=body))
            await own.flush()
            if commit:
                await own.commit()

    @app.post("/notes", status_code=202)
    async def accept(body: str) -> dict[str, str]:
        started.append(asyncio.create_task(later(body)))
        return {"accepted": body}

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://notes"
    ) as client:
        assert (await client.post("/notes", params={"body": "later"})).status_code == 202
    assert watched == [()]  # the request itself did nothing wrong

    release.set()
    await asyncio.wait_for(started[0], timeout=5)
    await asyncio.sleep(0)  # the task's done-callbacks run on the next turn of the loop
    if commit:
        assert watched == [()]
        return
    (late,) = watched[1:]
    assert [(f.kind, f.site) for f in late] == [
        (
            Kind.LOST_WRITE,
            f"tests/guard/test_request_units.py:{line_of(THIS_FILE, TASK_SESSION_TAG)}",
        )
    ]
    assert late[0].unit.startswith("POST /notes (task ")


@pytest.mark.parametrize("wiring", ["clean", "repository_own_session"])
def test_httpx_wsgi_transport_requests_are_units(
    tmp_path: Path, watched: Units, wiring: str
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'wsgi.sqlite3'}", connect_args={"timeout": 0.2})
    Base.metadata.create_all(engine)
    try:
        transport = httpx.WSGITransport(app=create_app(engine, wiring))
        with httpx.Client(transport=transport, base_url="http://notes") as client:
            assert client.post("/notes", json={"body": "hello"}).status_code == 201
    finally:
        engine.dispose()
    kinds = {f.kind for f in watched[0] if not f.note}
    assert kinds == (set() if wiring == "clean" else EXPECTED["repository_own_session"][0])
