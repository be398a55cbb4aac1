"""The support desk (examples/support_desk) for the sweep: an app factory and nothing more.

    python -m scenarios sweep --app-factory tests.sweep.support_desk_factories:scoped_session \
        --db postgresql --request 'POST /threads/7/posts {"content": "my printer is on fire"}'
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.engine import make_url

from examples.support_desk.api import create_app
from examples.support_desk.bootstrap import bootstrap
from examples.support_desk.database import create_schema, make_engine

ASK = 'POST /threads/7/posts {"content": "my printer is on fire"}'
SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}


def scoped_session(url: str) -> FastAPI:
    """The desk as shipped: every repository on the request's session."""
    return _desk(url, "scoped_session")


def fresh_session(url: str) -> FastAPI:
    """The buggy twin: the thread repository asks for a session of its own."""
    return _desk(url, "fresh_session")


def _desk(url: str, wiring: str) -> FastAPI:
    parsed = make_url(url)  # the sweep hands out async URLs; the desk is synchronous
    engine = make_engine(parsed.set(drivername=SYNC_DRIVERS[parsed.get_backend_name()]))
    create_schema(engine)
    return create_app(bootstrap(engine, wiring))
