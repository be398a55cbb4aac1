"""App factories for the route door, `python -m scenarios routes`: the reference app wired each
of its six ways, and the support desk as shipped and as its buggy twin. Nothing else: no request
is written here; the door makes them from each app's OpenAPI schema.

    python -m scenarios routes --app-factory examples.route_factories:two_sessions --db sqlite
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import make_url

from examples.support_desk.api import create_app as create_desk
from examples.support_desk.bootstrap import bootstrap
from examples.support_desk.database import create_schema as create_desk_schema
from examples.support_desk.database import make_engine
from reference_app.api.app import create_app
from reference_app.infrastructure.database import create_engine, create_schema

WIRINGS = (
    "two_sessions",
    "shared_session",
    "commit_in_save",
    "unit_of_work",
    "commit_in_dependency",
    "commit_before_response",
)


def _reference(wiring: str) -> Callable[[str], FastAPI]:
    def build(url: str) -> FastAPI:
        engine = create_engine(url)
        app = create_app(engine, wiring)

        @asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
            await create_schema(engine)
            yield
            await engine.dispose()

        app.router.lifespan_context = lifespan
        return app

    build.__name__ = build.__qualname__ = wiring
    return build


two_sessions = _reference("two_sessions")
shared_session = _reference("shared_session")
commit_in_save = _reference("commit_in_save")
unit_of_work = _reference("unit_of_work")
commit_in_dependency = _reference("commit_in_dependency")
commit_before_response = _reference("commit_before_response")

SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}


def _desk(url: str, wiring: str) -> FastAPI:
    parsed = make_url(url)  # the door hands out async URLs; the desk is synchronous
    engine = make_engine(parsed.set(drivername=SYNC_DRIVERS[parsed.get_backend_name()]))
    create_desk_schema(engine)
    return create_desk(bootstrap(engine, wiring))


def desk_scoped_session(url: str) -> FastAPI:
    """The desk as shipped: every repository on the request's session."""
    return _desk(url, "scoped_session")


def desk_fresh_session(url: str) -> FastAPI:
    """The buggy twin: the thread repository asks for a session of its own."""
    return _desk(url, "fresh_session")
