"""App factories for the atomicity sweep: all a team writes to sweep its app. No checkpoint,
no adapter: `FUNC(url)` takes the scratch database's URL and returns the app, which creates its
schema (at startup here).

- the reference app, wired each way (`two_sessions`, `shared_session`, `commit_in_save`,
  `unit_of_work`; `*_existing_chat` seed one chat first);
- the support desk (examples/support_desk), as shipped (`desk_scoped_session`) and as its
  buggy twin (`desk_fresh_session`).

    python -m scenarios sweep --app-factory examples.sweep_factories:commit_in_save \
        --db sqlite --request 'POST /sessions/6f1c0d5e-0000-4000-8000-000000000001/messages
        {"content": "hello"}'
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from examples.support_desk.api import create_app as create_desk
from examples.support_desk.bootstrap import bootstrap
from examples.support_desk.database import create_schema as create_desk_schema
from examples.support_desk.database import make_engine
from reference_app.api.app import create_app
from reference_app.infrastructure.database import create_engine, create_schema
from reference_app.infrastructure.orm import SessionModel

NEW_CHAT = uuid.UUID("6f1c0d5e-0000-4000-8000-000000000001")
EXISTING_CHAT = uuid.UUID("6f1c0d5e-0000-4000-8000-000000000002")
SEND = f'POST /sessions/{NEW_CHAT}/messages {{"content": "hello"}}'
SEND_TO_EXISTING = f'POST /sessions/{EXISTING_CHAT}/messages {{"content": "hello again"}}'


def _factory(wiring: str, *, existing_chat: bool = False) -> Callable[[str], FastAPI]:
    def build(url: str) -> FastAPI:
        engine = create_engine(url)
        app = create_app(engine, wiring)

        @asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
            await create_schema(engine)
            if existing_chat:
                await _seed_chat(engine)
            yield
            await engine.dispose()

        app.router.lifespan_context = lifespan
        return app

    build.__name__ = build.__qualname__ = wiring + ("_existing_chat" if existing_chat else "")
    return build


async def _seed_chat(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(SessionModel), [{"id": EXISTING_CHAT}])


two_sessions = _factory("two_sessions")
shared_session = _factory("shared_session")
commit_in_save = _factory("commit_in_save")
unit_of_work = _factory("unit_of_work")
two_sessions_existing_chat = _factory("two_sessions", existing_chat=True)
commit_in_save_existing_chat = _factory("commit_in_save", existing_chat=True)


# --- the support desk: sync SQLAlchemy behind FastAPI's threadpool -------------------------

ASK = 'POST /threads/7/posts {"content": "my printer is on fire"}'
SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}


def desk_scoped_session(url: str) -> FastAPI:
    """The desk as shipped: every repository on the request's session."""
    return _desk(url, "scoped_session")


def desk_fresh_session(url: str) -> FastAPI:
    """The buggy twin: the thread repository asks for a session of its own."""
    return _desk(url, "fresh_session")


def _desk(url: str, wiring: str) -> FastAPI:
    parsed = make_url(url)  # the sweep hands out async URLs; the desk is synchronous
    engine = make_engine(parsed.set(drivername=SYNC_DRIVERS[parsed.get_backend_name()]))
    create_desk_schema(engine)
    return create_desk(bootstrap(engine, wiring))
