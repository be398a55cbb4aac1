"""The support desk itself, called as plain functions: the correct version commits everything,
the buggy twin shows the incident app's failures, checked with plain SQL on a connection of its
own."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import examples.support_desk
from examples.support_desk.adapter import (
    POINT_OF,
    TARGET,
    SupportDeskTarget,
    malformed_here,
    sync_url,
)
from examples.support_desk.bootstrap import bootstrap
from examples.support_desk.container import Container, UnknownDependency
from examples.support_desk.database import UnsupportedDatabaseURL, driver_error_code, make_engine
from examples.support_desk.desk import SupportDesk
from examples.support_desk.orm import Base
from scenarios.adapter import POINTS, ChatRequest, Target
from scenarios.databases import Database
from scenarios.guard import Kind, SessionGuard
from tests.porting.conftest import count

BOOTSTRAP_FILE = Path(examples.support_desk.__file__).parent / "bootstrap.py"


def ask(engine: Engine, wiring: str, thread_id: int, question: str) -> None:
    with bootstrap(engine, wiring).scope() as scope:
        scope.get(SupportDesk).handle(thread_id, question)


def seed_thread(engine: Engine, thread_id: int) -> None:
    tables = Base.metadata.tables
    with engine.begin() as connection:
        connection.execute(insert(tables["threads"]).values(id=thread_id))
        connection.execute(insert(tables["thread_memory"]).values(thread_id=thread_id, state="{}"))


def test_the_correct_version_commits_the_thread_both_posts_and_the_memory(
    desk_engine: Engine,
) -> None:
    ask(desk_engine, "scoped_session", 7, "Where is my parcel?")
    assert count(desk_engine, "threads") == 1
    assert count(desk_engine, "posts") == 2
    assert count(desk_engine, "thread_memory") == 1


def test_the_buggy_twin_fails_the_first_post_of_a_thread_and_commits_nothing(
    desk_engine: Engine, desk_database: Database
) -> None:
    with pytest.raises(DBAPIError) as raised:
        ask(desk_engine, "fresh_session", 7, "Where is my parcel?")
    # Postgres: the memory row's FK cannot see the other session's thread. SQLite: the memory
    # insert waits for the other session's write lock until the busy timeout.
    expected = {"postgresql": "23503", "sqlite": "SQLITE_BUSY"}[desk_database.kind]
    assert driver_error_code(raised.value) == expected
    assert count(desk_engine, "threads") == 0
    assert count(desk_engine, "posts") == 0


def test_the_buggy_twin_answers_in_an_existing_thread_and_loses_both_posts(
    desk_engine: Engine,
) -> None:
    seed_thread(desk_engine, 7)
    ask(desk_engine, "fresh_session", 7, "Any news?")  # no error: the incident app's silent loss
    assert count(desk_engine, "posts") == 0


def test_the_guard_names_the_second_session_of_the_buggy_twin(desk_engine: Engine) -> None:
    seed_thread(desk_engine, 7)
    with SessionGuard("collect", label="one post", noun="request") as unit:
        ask(desk_engine, "fresh_session", 7, "Any news?")
    extra = [f for f in unit.findings if f.kind is Kind.EXTRA_SESSION]
    lost = [f for f in unit.findings if f.kind is Kind.LOST_WRITE]
    assert len(extra) == 1
    assert extra[0].sessions == 2
    # Both sessions come from the container's Session provider; the extra one was asked for
    # by `scope.new(Session)` in `_thread_repository_on_fresh_session`.
    assert extra[0].site is not None
    assert extra[0].site.startswith("examples/support_desk/bootstrap.py:")
    assert len(lost) == 1
    assert dict(lost[0].rows) == {"posts": 2}


def test_the_guard_is_silent_on_the_correct_version(desk_engine: Engine) -> None:
    with SessionGuard("collect", label="one post", noun="request") as unit:
        ask(desk_engine, "scoped_session", 7, "Where is my parcel?")
    assert unit.findings == ()


def test_the_twins_differ_in_one_provider_only() -> None:
    source = BOOTSTRAP_FILE.read_text(encoding="utf-8")
    assert "ThreadRepository(scope.get(Session))" in source
    assert "ThreadRepository(scope.new(Session))" in source


def test_a_scope_shares_what_it_gets_and_never_what_it_builds_new() -> None:
    container = Container()
    container.register(list, lambda scope: [])
    with container.scope() as scope:
        assert scope.get(list) is scope.get(list)
        assert scope.new(list) is not scope.new(list)
        with pytest.raises(UnknownDependency):
            scope.get(dict)


def test_the_scope_closes_the_sessions_it_opened(desk_engine: Engine) -> None:
    with bootstrap(desk_engine).scope() as scope:
        session = scope.get(Session)
        session.connection()
        assert session.in_transaction()
    assert not session.in_transaction()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+pysqlite://",
        "sqlite+pysqlite:///:memory:",
        "sqlite+aiosqlite:///desk.db",
        "postgresql+asyncpg://postgres@localhost/desk",
    ],
)
def test_make_engine_refuses_shared_memory_and_async_drivers(url: str) -> None:
    with pytest.raises(UnsupportedDatabaseURL):
        make_engine(url)


def test_the_adapter_maps_every_pack_point_to_an_app_checkpoint() -> None:
    assert sorted(POINT_OF.values()) == sorted(POINTS)


def test_the_adapter_turns_the_runners_async_urls_into_sync_ones() -> None:
    assert sync_url("sqlite+aiosqlite:///tmp/x.db") == "sqlite+pysqlite:///tmp/x.db"
    assert sync_url("postgresql+asyncpg://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"


def test_a_raw_id_malformed_for_the_pack_stays_malformed_for_the_app() -> None:
    assert malformed_here("not-a-uuid") == "not-a-uuid"
    assert malformed_here("0") != "0"
    with pytest.raises(ValueError, match="invalid literal for int"):
        int(malformed_here("-12"))


async def test_the_adapter_gives_each_runner_key_its_own_integer_id(desk_sqlite: Database) -> None:
    async with TARGET.open("scoped_session", desk_sqlite) as target:
        assert isinstance(target, Target)
        assert isinstance(target, SupportDeskTarget)
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        assert target.thread_id(first) != target.thread_id(second)
        assert target.thread_id(first) == target.thread_id(first)
        assert target.key(target.thread_id(second)) == second


async def test_a_sync_request_pauses_at_a_checkpoint_until_the_runner_lets_it_go(
    desk_sqlite: Database,
) -> None:
    arrived = asyncio.Event()
    go = asyncio.Event()

    async def hook(point: str) -> bool:
        if point == "after_user_message":
            arrived.set()
            await go.wait()
        return False

    async with TARGET.open("scoped_session", desk_sqlite) as target:
        await target.reset()
        request = ChatRequest(session=str(uuid.uuid4()), content="Paused in a worker thread")
        sending = asyncio.create_task(target.send(request, hook))
        await asyncio.wait_for(arrived.wait(), 5)
        assert not sending.done()
        go.set()
        response = await asyncio.wait_for(sending, 5)
        assert response.status == 201
        assert [m.position for m in response.messages] == [0, 1]
        state = await target.read_state()
        assert state.sessions == {request.session}


def test_the_static_check_cannot_see_a_second_session_the_container_hands_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A known limit, asserted: every session is opened in the composition root (bootstrap),
    and `scope.new(Session)` is a DI decision, not a session maker call. The runtime guard and
    the pack catch the twin; `python -m scenarios.lint` does not."""
    from scenarios.lint.__main__ import main as lint

    assert lint([str(BOOTSTRAP_FILE.parent)]) == 0
    capsys.readouterr()
