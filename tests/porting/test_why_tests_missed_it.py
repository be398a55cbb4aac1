"""Why a team's existing tests did not catch the two-session bug: evidence, on our own app.

Each test runs the support desk's buggy twin (`fresh_session`) twice: once under a test setup
teams commonly use, where it passes, and once the way the harness runs it, with real, separate
pooled connections, where it fails. docs/explanation/why-tests-miss.md cites these tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from examples.support_desk.bootstrap import bootstrap
from examples.support_desk.database import (
    SQLITE_BUSY_TIMEOUT_S,
    create_schema,
    driver_error_code,
    enable_sqlite_foreign_keys,
)
from examples.support_desk.desk import SupportDesk
from examples.support_desk.repositories import MemoryRepository, ThreadRepository
from scenarios.databases import Database
from tests.porting.conftest import count

# The codes the harness sees for the same request on real separate connections.
REAL_FAILURE = {"postgresql": "23503", "sqlite": "SQLITE_BUSY"}


def ask(bind: Engine | Connection, question: str, **session_options: object) -> tuple[str, str]:
    """One post to thread 7 through the buggy twin; returns what the client was told."""
    with bootstrap(bind, "fresh_session", **session_options).scope() as scope:
        asked, answered = scope.get(SupportDesk).handle(7, question)
    return asked.body, answered.body


def rows(connection: Connection) -> dict[str, int]:
    return {
        table: int(connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
        for table in ("threads", "posts", "thread_memory")
    }


def assert_fails_on_real_connections(engine: Engine, kind: str) -> None:
    with pytest.raises(DBAPIError) as raised:
        ask(engine, "Where is my parcel?")
    assert driver_error_code(raised.value) == REAL_FAILURE[kind]
    assert count(engine, "posts") == 0


# -- 1. One shared connection: SQLite :memory: with StaticPool ---------------------------------


@pytest.fixture
def shared_memory_engine() -> Iterator[Engine]:
    """The one place in this project where :memory: and StaticPool are intended: this is the
    setup whose blindness we demonstrate. Every session gets the same DBAPI connection."""
    engine = create_engine(
        "sqlite+pysqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    event.listen(engine, "connect", enable_sqlite_foreign_keys)
    try:
        create_schema(engine)
        yield engine
    finally:
        engine.dispose()


def test_a_shared_memory_connection_lets_the_buggy_twin_pass_even_a_persistence_check(
    shared_memory_engine: Engine,
) -> None:
    assert ask(shared_memory_engine, "Where is my parcel?") == (
        "Where is my parcel?",
        "Bot: Where is my parcel?",
    )
    # Both sessions wrote on the one connection, so the request session's commit committed
    # the repository session's rows too: everything "persisted".
    with shared_memory_engine.connect() as connection:
        assert rows(connection) == {"threads": 1, "posts": 2, "thread_memory": 1}


def test_the_same_request_fails_on_the_harness_real_separate_connections(
    desk_engine: Engine, desk_database: Database
) -> None:
    assert_fails_on_real_connections(desk_engine, desk_database.kind)


# -- 2. The outer-transaction recipe ------------------------------------------------------------


@pytest.mark.parametrize("join_transaction_mode", [None, "create_savepoint"])
def test_the_outer_transaction_recipe_hides_the_failure(
    desk_engine: Engine, join_transaction_mode: str | None
) -> None:
    """The common fixture: one connection, an outer transaction rolled back after the test,
    every session bound to that connection. All sessions share it, so nothing fails."""
    options = {"join_transaction_mode": join_transaction_mode} if join_transaction_mode else {}
    with desk_engine.connect() as connection:
        outer = connection.begin()
        try:
            answer = ask(connection, "Where is my parcel?", **options)
            found = rows(connection)
        finally:
            outer.rollback()
    assert answer[1] == "Bot: Where is my parcel?"  # a test asserting the response passes
    if join_transaction_mode is None:
        # The sessions never end the outer transaction, so the repository session's rows stay
        # visible in it: a persistence check inside the test passes as well.
        assert found == {"threads": 1, "posts": 2, "thread_memory": 1}
    else:
        # With savepoints, closing the repository's session rolls back to its savepoint: the
        # rows are gone, but the request itself raised nothing (no FK error, no lock wait).
        assert found == {"threads": 0, "posts": 0, "thread_memory": 0}


# -- 3. PRAGMA foreign_keys left off ------------------------------------------------------------


@pytest.fixture
def sqlite_without_fk_pragma(desk_sqlite: Database, desk_engine_sqlite: Engine) -> Iterator[Engine]:
    """A file and a real pool, as it should be, but no `PRAGMA foreign_keys=ON` per connection."""
    engine = create_engine(desk_engine_sqlite.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    try:
        yield engine
    finally:
        engine.dispose()


def lose_the_thread_then_remember_it(engine: Engine) -> None:
    """The incident app's order: the repository's own session flushes the new thread and is closed
    without a commit; then the request's session writes the memory row pointing at it."""
    with Session(engine) as repository_session:
        ThreadRepository(repository_session).open_if_new(7)
    with Session(engine) as request_session:
        MemoryRepository(request_session).remember_first_turn(7)
        request_session.commit()


def test_without_the_fk_pragma_sqlite_commits_the_orphan_silently(
    sqlite_without_fk_pragma: Engine,
) -> None:
    lose_the_thread_then_remember_it(sqlite_without_fk_pragma)
    with sqlite_without_fk_pragma.connect() as connection:
        assert rows(connection) == {"threads": 0, "posts": 0, "thread_memory": 1}
        orphans = connection.scalar(
            text(
                "SELECT count(*) FROM thread_memory WHERE thread_id NOT IN (SELECT id FROM threads)"
            )
        )
    assert orphans == 1


def test_with_foreign_keys_enforced_the_same_writes_fail_as_the_seed_did(
    desk_engine: Engine, desk_database: Database
) -> None:
    with pytest.raises(DBAPIError) as raised:
        lose_the_thread_then_remember_it(desk_engine)
    expected = {"postgresql": "23503", "sqlite": "SQLITE_CONSTRAINT_FOREIGNKEY"}
    assert driver_error_code(raised.value) == expected[desk_database.kind]
    assert count(desk_engine, "thread_memory") == 0
