"""Where the guard sends a team when every session goes through the app's own helper.

Modelled on LTaooo/fastapi-starter (the MariaDB trial in docs/evaluation.md): a database class
whose `@asynccontextmanager` helpers make every `AsyncSession` on one line (`_session`), used by
a FastAPI dependency for the request's session and by `with_session()` anywhere else. Before,
every finding named the helper's line, the same for the request's session and for the planted
second one; now the second is named at the line of the app's code that entered the helper, and
the dependency's, which FastAPI entered, at the helper's own line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, ClassVar

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import String, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from scenarios.databases import Database
from scenarios.guard import Kind, session_guard
from tests.guard.conftest import line_of

THIS_FILE = Path(__file__)


def site_of(tag: str) -> str:
    return f"tests/guard/test_session_helpers.py:{line_of(THIS_FILE, '# helper-site: ' + tag)}"


class Base(DeclarativeBase):
    pass


class Book(Base):
    __tablename__ = "guard_helper_books"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


class BookDatabase:
    """The app's one way to a session, as the starter's `BaseMysql` is."""

    engine: ClassVar[AsyncEngine]

    @classmethod
    @asynccontextmanager
    async def _session(cls) -> AsyncIterator[AsyncSession]:
        session = AsyncSession(cls.engine, expire_on_commit=False)  # helper-site: inner
        try:
            yield session
        finally:
            await session.close()

    @classmethod
    @asynccontextmanager
    async def with_session(cls) -> AsyncIterator[AsyncSession]:
        async with cls._session() as session:
            yield session

    @classmethod
    async def get_session(cls) -> AsyncIterator[AsyncSession]:
        async with cls._session() as session:
            yield session


BookSession = Annotated[AsyncSession, Depends(BookDatabase.get_session)]


def build_app(*, planted: bool) -> FastAPI:
    app = FastAPI()

    @app.post("/books", status_code=201)
    async def create_book(session: BookSession) -> dict[str, str]:
        if planted:
            async with BookDatabase.with_session() as own:  # helper-site: planted
                own.add(Book(name="lost"))
                await own.flush()
        else:
            session.add(Book(name="kept"))
        await session.commit()
        return {"ok": "yes"}

    return app


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database.url)
    BookDatabase.engine = engine
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
            await connection.execute(text("DELETE FROM guard_helper_books"))
        yield engine
    finally:
        await engine.dispose()


async def post(app: FastAPI) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return (await client.post("/books")).status_code


async def test_the_planted_session_is_named_at_the_apps_line_not_the_helpers(
    engine: AsyncEngine,
) -> None:
    async with session_guard("collect", label="POST /books") as unit:
        unit.response_started(await post(build_app(planted=True)))
    lost = [f for f in unit.findings if f.kind is Kind.ACKNOWLEDGED_NOT_SAVED]
    assert [f.site for f in lost] == [site_of("planted")]
    assert site_of("inner") not in {f.site for f in unit.findings if not f.note}


async def test_the_clean_twin_is_silent(engine: AsyncEngine) -> None:
    async with session_guard("collect", label="POST /books") as unit:
        unit.response_started(await post(build_app(planted=False)))
    assert unit.findings == ()
