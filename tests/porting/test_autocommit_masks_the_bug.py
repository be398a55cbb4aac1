"""A fourth setup that hides the two-session bug: a test engine in AUTOCOMMIT.

Modelled on issue 14's trial on a RealWorld "Conduit" backend, whose test engine ran with
`isolation_level="AUTOCOMMIT"`: every statement commits on its own, so the repository's second
session writes the parent row for good at once, the request's session sees it, no lock is held,
and nothing is lost. The support desk's buggy twin then passes even a persistence check; the
same request on the harness's ordinary (transactional) pooled connections fails as the seed did.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from examples.support_desk.database import create_schema, make_engine
from scenarios.databases import Database
from tests.porting.conftest import count
from tests.porting.test_why_tests_missed_it import ask, assert_fails_on_real_connections, rows


@pytest.fixture
def autocommit_engine(desk_engine: Engine) -> Iterator[Engine]:
    """The team's test engine: a real file or server and a real pool, but AUTOCOMMIT."""
    engine = make_engine(desk_engine.url, isolation_level="AUTOCOMMIT")
    try:
        create_schema(engine)
        yield engine
    finally:
        engine.dispose()


def test_an_autocommit_engine_lets_the_buggy_twin_pass_even_a_persistence_check(
    autocommit_engine: Engine,
) -> None:
    assert ask(autocommit_engine, "Where is my parcel?") == (
        "Where is my parcel?",
        "Bot: Where is my parcel?",
    )
    # The repository session's rows were committed statement by statement, so they "persisted".
    with autocommit_engine.connect() as connection:
        assert rows(connection) == {"threads": 1, "posts": 2, "thread_memory": 1}


def test_the_same_request_fails_on_transactional_connections(
    desk_engine: Engine, desk_database: Database
) -> None:
    assert_fails_on_real_connections(desk_engine, desk_database.kind)
    assert count(desk_engine, "threads") == 0


PROBE = text("INSERT INTO threads (id, opened_at) VALUES (99, CURRENT_TIMESTAMP)")


def rolls_back(engine: Engine) -> bool:
    """The check the guide gives, whatever the driver: write a row, roll back, and look for it
    through a fresh connection. An AUTOCOMMIT engine has already committed it."""
    with engine.connect() as connection:
        connection.execute(PROBE)
        connection.rollback()
    left = count(engine, "threads")
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM threads WHERE id = 99"))
    return left == 0


def test_how_to_check_an_engine_for_autocommit(
    autocommit_engine: Engine, desk_engine: Engine
) -> None:
    assert not rolls_back(autocommit_engine)
    assert rolls_back(desk_engine)
