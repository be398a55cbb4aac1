"""The guard on MariaDB/MySQL (HARNESS_MARIADB_URL): the incident's bug there is a wait, not an
error at once. The request's session inserts a child row whose foreign key check waits for the
parent another session of the same request has not committed; with the wait bounded it fails
with error 1205, and the guard's finding says so. Its clean twin (one session) is silent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import ForeignKey, String, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as make_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from scenarios.guard import Kind, session_guard
from scenarios.scratch import Database
from scenarios.toolkit import bound_waits
from tests.guard.conftest import line_of

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]
THIS_FILE = Path(__file__)


class Base(DeclarativeBase):
    pass


class Chat(Base):
    __tablename__ = "guard_chats"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(40))


class Context(Base):
    __tablename__ = "guard_contexts"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("guard_chats.id"))


@pytest_asyncio.fixture
async def engine(mariadb_database: Database) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(mariadb_database.url)
    bound_waits(engine)  # 1 s, not InnoDB's 50 s
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
            await connection.execute(text("DELETE FROM guard_contexts"))
            await connection.execute(text("DELETE FROM guard_chats"))
        yield engine
    finally:
        await engine.dispose()


async def new_chat(maker: async_sessionmaker[AsyncSession], *, own_session: bool) -> None:
    """The seed's request for a new chat: the chat saved by a repository, then its context."""
    async with maker() as db, maker() as repository_db:  # site: repository session
        repository = repository_db if own_session else db
        chat = Chat(title="new")
        repository.add(chat)
        await repository.flush()
        db.add(Context(chat_id=chat.id))
        await db.commit()


async def test_the_seeds_new_chat_waits_and_the_finding_names_1205(engine: AsyncEngine) -> None:
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with session_guard("collect", label="POST /chats/new/messages") as unit:
        with pytest.raises(DBAPIError, match="1205"):
            await new_chat(maker, own_session=True)
        unit.response_started(500)

    extra = [f for f in unit.findings if f.kind is Kind.EXTRA_SESSION]
    assert len(extra) == 1
    site = f"tests/guard/test_mariadb.py:{line_of(THIS_FILE, '# site: ' + 'repository session')}"
    assert extra[0].site == site
    assert "failed with error 1205" in extra[0].message
    assert "InnoDB's lock wait timeout" in extra[0].message


async def test_one_session_for_the_new_chat_is_silent(engine: AsyncEngine) -> None:
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with session_guard("collect", label="POST /chats/new/messages") as unit:
        await new_chat(maker, own_session=False)
        unit.response_started(201)
    assert unit.findings == ()
