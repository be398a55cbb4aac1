"""The public adapter toolkit (`scenarios.toolkit`) on real databases: waits bounded on an
engine the app already made, whichever driver; the driver's code read from any error; the
four points fired from outside an app; and the transport behaviour the classifier relies on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, create_engine, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from scenarios.adapter import INJECTED_FAULT_CODE
from scenarios.databases import Database
from scenarios.toolkit import (
    Checkpoints,
    InjectedFault,
    UnboundableEngine,
    bound_waits,
    connect_arguments,
    driver_error_code,
    response_for_exception,
)

metadata = MetaData()
parents = Table("tk_parents", metadata, Column("id", Integer, primary_key=True))
children = Table(
    "tk_children",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("parent_id", ForeignKey("tk_parents.id")),
)


def _sync_url(database: Database) -> str:
    driver = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}[database.kind]
    return database.url.replace(database.url.split("://")[0], driver, 1)


async def test_bound_waits_on_an_async_engine_the_app_already_made(database: Database) -> None:
    engine = create_async_engine(database.url)
    bound_waits(engine)
    try:
        async with engine.connect() as connection:
            if database.kind == "sqlite":
                assert await connection.scalar(text("PRAGMA busy_timeout")) == 200
                assert await connection.scalar(text("PRAGMA foreign_keys")) == 1
            else:
                assert await connection.scalar(text("SHOW lock_timeout")) == "200ms"
                assert await connection.scalar(text("SHOW statement_timeout")) == "5s"
    finally:
        await engine.dispose()


def test_bound_waits_on_a_sync_engine_with_another_driver(database: Database) -> None:
    engine = create_engine(_sync_url(database))
    bound_waits(engine)
    try:
        with engine.connect() as connection:
            if database.kind == "sqlite":
                assert connection.scalar(text("PRAGMA busy_timeout")) == 200
                assert connection.scalar(text("PRAGMA foreign_keys")) == 1
            else:
                assert connection.scalar(text("SHOW lock_timeout")) == "200ms"
    finally:
        engine.dispose()


async def test_an_engine_without_bound_waits_waits_longer(database: Database) -> None:
    """The control: the same checks fail on an engine left as the app made it."""
    engine = create_async_engine(database.url)
    try:
        async with engine.connect() as connection:
            if database.kind == "sqlite":
                assert await connection.scalar(text("PRAGMA busy_timeout")) != 200
                assert await connection.scalar(text("PRAGMA foreign_keys")) == 0
            else:
                assert await connection.scalar(text("SHOW lock_timeout")) == "0"
    finally:
        await engine.dispose()


async def test_bound_waits_after_the_first_connection_is_refused(
    sqlite_database: Database,
) -> None:
    # A pool that keeps connections (SQLAlchemy 2.0 gives aiosqlite files a NullPool, where a
    # later bound_waits is harmless: every connection is new).
    engine = create_async_engine(sqlite_database.url, poolclass=AsyncAdaptedQueuePool)
    try:
        async with engine.connect():
            pass
        with pytest.raises(RuntimeError, match="before the engine's first connection"):
            bound_waits(engine)
    finally:
        await engine.dispose()


def test_a_driver_the_harness_cannot_bound_is_named() -> None:
    with pytest.raises(UnboundableEngine, match="'pg8000'"):
        connect_arguments("pg8000")


async def test_the_driver_code_of_a_foreign_key_error_on_each_driver(database: Database) -> None:
    expected = {"sqlite": "SQLITE_CONSTRAINT_FOREIGNKEY", "postgresql": "23503"}[database.kind]
    engine = create_async_engine(database.url)
    bound_waits(engine)
    sync_engine = create_engine(_sync_url(database))
    bound_waits(sync_engine)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        with pytest.raises(DBAPIError) as raised_async:
            async with engine.begin() as connection:
                await connection.execute(insert(children).values(parent_id=999))
        with pytest.raises(DBAPIError) as raised_sync, sync_engine.begin() as sync_connection:
            sync_connection.execute(insert(children).values(parent_id=12345))
        assert driver_error_code(raised_async.value) == expected
        assert driver_error_code(raised_sync.value) == expected
        assert driver_error_code(raised_async.value.orig) == expected  # type: ignore[arg-type]
        answered = response_for_exception(raised_async.value)
        assert (answered.status, answered.error_code) == (500, expected)
    finally:
        await engine.dispose()
        sync_engine.dispose()


def test_an_error_without_a_driver_code_has_none() -> None:
    assert driver_error_code(ValueError("not a database error")) is None
    assert response_for_exception(ValueError("boom")).error_code is None
    assert response_for_exception(InjectedFault("at_commit")).error_code == INJECTED_FAULT_CODE


# -- the four points from outside --------------------------------------------------------------


class Repository:
    calls: list[str] = []  # noqa: RUF012 (a record the test reads)

    async def save(self, value: str) -> str:
        self.calls.append(f"save {value}")
        return value

    @classmethod
    async def create(cls, value: str) -> str:
        cls.calls.append(f"create {value}")
        return value

    @staticmethod
    async def helper(value: str) -> str:
        Repository.calls.append(f"helper {value}")
        return value


@pytest.mark.parametrize("name", ["save", "create", "helper"])
async def test_a_wrapped_method_fires_its_point_and_is_restored(name: str) -> None:
    checkpoints = Checkpoints()
    seen: list[str] = []

    async def hook(point: str) -> bool:
        seen.append(point)
        return False

    original = vars(Repository)[name]
    with checkpoints.patched(Repository, name, after="after_reply"), checkpoints.hooked(hook):
        assert await getattr(Repository(), name)("x") == "x"
        if name != "save":  # a classmethod or staticmethod is called on the class as well
            assert await getattr(Repository, name)("y") == "y"
    assert set(seen) == {"after_reply"}
    assert vars(Repository)[name] is original


async def test_a_fault_at_a_point_raises_injected_fault_and_no_hook_means_no_point() -> None:
    checkpoints = Checkpoints()

    async def fail_here(point: str) -> bool:
        return point == "after_user_message"

    save = checkpoints.after("after_user_message", Repository().save)
    assert await save("no hook installed") == "no hook installed"
    with checkpoints.hooked(fail_here), pytest.raises(InjectedFault, match="after_user_message"):
        await save("x")
    with pytest.raises(ValueError, match="unknown point 'after_everything'"):
        checkpoints.after("after_everything", save)


async def test_a_session_dependency_fires_at_commit_before_the_commit(
    sqlite_database: Database,
) -> None:
    checkpoints = Checkpoints()
    engine = create_async_engine(sqlite_database.url)
    bound_waits(engine)
    maker = async_sessionmaker(engine)

    async def get_db() -> AsyncIterator[AsyncSession]:
        async with maker() as session:
            yield session

    async def fail_at_commit(point: str) -> bool:
        return point == "at_commit"

    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        dependency = checkpoints.session_dependency(get_db)
        generator = dependency()
        session = await anext(generator)
        await session.execute(insert(parents).values(id=4242))
        with checkpoints.hooked(fail_at_commit), pytest.raises(InjectedFault):
            await session.commit()
        await generator.aclose()
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM tk_parents")) == 0
    finally:
        await engine.dispose()


# -- the transport behaviour the classifier relies on ------------------------------------------


def _crashing_app() -> FastAPI:
    app = FastAPI()

    @app.get("/crash")
    async def crash() -> None:
        raise InjectedFault("after_reply")

    return app


async def test_the_in_process_transport_re_raises_the_app_s_exception() -> None:
    transport = httpx.ASGITransport(app=_crashing_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        with pytest.raises(InjectedFault):
            await client.get("/crash")


async def test_without_re_raising_the_client_sees_only_a_bare_500() -> None:
    transport = httpx.ASGITransport(app=_crashing_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        response = await client.get("/crash")
    assert response.status_code == 500
    assert "after_reply" not in response.text
