"""A request that answers 201 and leaves its save to `asyncio.create_task`, through the guard's
middleware: the task's session is judged when the task ends, with the request's response, even
when the task first runs after the response has started (the request's `get_db` closing hands
it the event loop). A save that fails under the 201 is named; one that commits is not.
The zoo's `create_task_session` is the same shape in the reference app.

No `from __future__ import annotations`: FastAPI reads the route's `Depends` from its annotation,
which names a local function."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import String, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as make_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from scenarios.databases import Database
from scenarios.guard import GuardFinding, Kind
from scenarios.guard.middleware import SessionGuardMiddleware
from tests.guard.conftest import line_of

THIS_FILE = Path(__file__)
TASK_TAG = "# site" + ": task session"  # split, so only the tagged line matches
TASK_SITE = f"tests/guard/{THIS_FILE.name}:{line_of(THIS_FILE, TASK_TAG)}"


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "guard_task_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(50))


def build_app(engine: AsyncEngine, ending: str, saving: set[asyncio.Task[None]]) -> FastAPI:
    """`ending`: how the task ends its save, "commit" (the clean twin) or "rollback" (it gives
    up after flushing, as an `except IntegrityError: rollback()` does)."""
    maker = async_sessionmaker(engine, expire_on_commit=False)
    app = FastAPI()

    async def get_db() -> AsyncIterator[AsyncSession]:
        async with maker() as session:
            yield session

    async def save(body: str) -> None:
        async with maker() as own:  # site: task session
            own.add(Note(body=body))
            await own.flush()
            if ending == "commit":
                await own.commit()
            else:
                await own.rollback()

    @app.post("/notes", status_code=201)
    async def create(body: str, db: Annotated[AsyncSession, Depends(get_db)]) -> dict[str, str]:
        await db.scalar(select(func.count()).select_from(Note))
        task = asyncio.create_task(save(body))
        saving.add(task)
        return {"saved": body}

    return app


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(database.url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
            await connection.execute(text("DELETE FROM guard_task_notes"))
        yield engine
    finally:
        await engine.dispose()


async def post_and_wait(
    engine: AsyncEngine, ending: str, sink: list[Sequence[GuardFinding]]
) -> int:
    """One request through the middleware; then the task it left running, bounded. Returns
    the notes stored, read on a connection of the test's own."""
    saving: set[asyncio.Task[None]] = set()
    app = SessionGuardMiddleware(build_app(engine, ending, saving), sink=sink.append)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://notes"
    ) as client:
        response = await client.post("/notes", params={"body": "hello"})
    assert response.status_code == 201
    assert saving, "the request started its save"
    await asyncio.wait_for(asyncio.gather(*saving), timeout=5)
    async with engine.connect() as connection:
        return int(await connection.scalar(text("SELECT count(*) FROM guard_task_notes")) or 0)


async def test_a_task_that_gives_up_its_save_under_a_201_is_named_when_it_ends(
    engine: AsyncEngine,
) -> None:
    delivered: list[Sequence[GuardFinding]] = []
    stored = await post_and_wait(engine, "rollback", delivered)

    assert stored == 0
    found = [f for unit in delivered for f in unit if not f.note]
    assert [f.kind for f in found] == [Kind.ACKNOWLEDGED_NOT_SAVED]
    assert found[0].site == TASK_SITE
    assert found[0].status == 201
    assert found[0].via == "route POST /notes"
    assert "were rolled back" in found[0].message


async def test_a_task_that_commits_its_save_is_not_named(engine: AsyncEngine) -> None:
    delivered: list[Sequence[GuardFinding]] = []
    stored = await post_and_wait(engine, "commit", delivered)

    assert stored == 1
    assert [f for unit in delivered for f in unit if not f.note] == []
