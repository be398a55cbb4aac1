"""The MariaDB/MySQL column: how its server is found (HARNESS_MARIADB_URL), its scratch
databases (created, marked, dropped, orphans removed, nothing else touched), the error numbers
the outcomes are told by (each provoked on the real server), the janitor that sees what a case
left open, and the incident itself: a new chat's message fails in about a second with 1205 (not
the server's 50-second default), an existing chat's is lost silently, and the fixed wiring
is clean. Unreachable: skipped with the reason locally, a failure under CI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from reference_app.infrastructure.database import MYSQL_LOCK_WAIT_TIMEOUT_S, create_engine
from reference_app.infrastructure.errors import driver_error_code
from scenarios import mariadb
from scenarios.databases import Database, open_scratch_database
from scenarios.inputs import (
    DEFAULT_MARIADB_URL,
    MARIADB_URL_VARIABLE,
    BadInput,
    check_environment,
    check_mariadb_url,
)
from scenarios.outcomes import CONFLICT_CODES, FK_CODES, LOCK_CODES
from scenarios.scratch import OWNER_MARK
from tests.scenarios.test_scratch_orphans import _killed_run

# -- how the server is found (no server needed) --------------------------------------------


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        (None, "mysql+aiomysql"),
        ("mysql://u:pw@db:3307/", "mysql+aiomysql"),
        ("mariadb://u@db/", "mysql+aiomysql"),
        ("mariadb+aiomysql://u@db/", "mysql+aiomysql"),
        ("mysql+aiomysql://u@db/x", "mysql+aiomysql"),
    ],
)
def test_a_bare_url_gets_the_async_driver(given: str | None, driver: str) -> None:
    url = check_mariadb_url(given)
    assert url.drivername == driver
    if given is None:
        assert url == make_url(DEFAULT_MARIADB_URL)


@pytest.mark.parametrize(
    "given", ["mysql+pymysql://u:s3cret@db/", "postgresql://u:s3cret@db/", "mysql://u:s3cret@db:0/"]
)
def test_a_bad_url_is_one_line_with_its_password_masked(given: str) -> None:
    with pytest.raises(BadInput) as raised:
        check_environment({MARIADB_URL_VARIABLE: given})
    message = str(raised.value)
    assert message.startswith(f"{MARIADB_URL_VARIABLE}=")
    assert "\n" not in message
    assert "s3cret" not in message
    assert "accepted:" in message


def test_the_server_version_names_the_engine() -> None:
    assert mariadb.server_version("10.11.19-MariaDB-0+deb12u1") == "MariaDB 10.11.19"
    assert mariadb.server_version("8.4.3") == "MySQL 8.4.3"


# -- scratch databases --------------------------------------------------------------------


async def _schemas() -> dict[str, str]:
    admin = await mariadb.admin_connection(mariadb.server_url())
    try:
        async with admin.cursor() as cursor:
            await cursor.execute(
                "SELECT SCHEMA_NAME, SCHEMA_COMMENT FROM information_schema.SCHEMATA"
            )
            return {str(name): str(comment) for name, comment in await cursor.fetchall()}
    finally:
        admin.close()


async def _scratch_or_skip() -> AsyncIterator[Database]:
    from tests.conftest import without_mariadb

    scratch = open_scratch_database("mariadb")
    try:
        database = await scratch.__aenter__()
    except mariadb.MariaDBUnavailable as unavailable:
        without_mariadb(unavailable)
    try:
        yield database
    finally:
        await scratch.__aexit__(None, None, None)


@pytest.mark.mariadb
async def test_a_scratch_database_is_marked_then_dropped_and_nothing_else_touched() -> None:
    before = None
    async for database in _scratch_or_skip():
        name = make_url(database.url).database
        assert name is not None
        assert name.startswith("harness_")
        assert database.server_version.startswith(("MariaDB ", "MySQL "))
        during = await _schemas()
        if database.server_version.startswith("MariaDB"):
            assert during[name].startswith(OWNER_MARK)
        before = {k: v for k, v in during.items() if k != name}
    after = await _schemas()
    assert name not in after
    # Other runs (another session's) may come and go meanwhile; everything else is untouched.
    assert {k: v for k, v in after.items() if not k.startswith("harness_")} == {
        k: v for k, v in (before or {}).items() if not k.startswith("harness_")
    }


@pytest.mark.mariadb
async def test_a_killed_runs_database_is_removed_by_the_next_run() -> None:
    async for _ in _scratch_or_skip():
        pass  # reachable: go on
    name = make_url(_killed_run("mariadb", dict(os.environ))).database
    assert name in await _schemas()
    async with open_scratch_database("mariadb"):
        assert name not in await _schemas()


# -- error numbers, each provoked on the server --------------------------------------------


@pytest_asyncio.fixture
async def engine(mariadb_database: Database) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(mariadb_database.url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE IF EXISTS child, parent"))
        await connection.execute(text("CREATE TABLE parent (id INT PRIMARY KEY)"))
        await connection.execute(
            text(
                "CREATE TABLE child (id INT PRIMARY KEY, parent INT, "
                "FOREIGN KEY (parent) REFERENCES parent (id))"
            )
        )
        await connection.execute(text("INSERT INTO parent VALUES (1), (2)"))
    try:
        yield engine
    finally:
        await engine.dispose()


async def _code(connection: object, sql: str) -> str | None:
    try:
        await connection.execute(text(sql))  # type: ignore[attr-defined]
    except Exception as error:  # noqa: BLE001 - the error the driver raised is what is read
        return driver_error_code(error)
    return None


@pytest.mark.mariadb
async def test_each_error_number_is_what_the_outcomes_say(engine: AsyncEngine) -> None:
    async with engine.connect() as a, engine.connect() as b:
        assert await _code(a, "INSERT INTO child VALUES (1, 99)") == "1452"
        await a.rollback()
        assert await _code(a, "INSERT INTO parent VALUES (1)") == "1062"
        await a.rollback()
        await a.execute(text("SELECT * FROM parent WHERE id = 1 FOR UPDATE"))
        started = time.monotonic()
        assert await _code(b, "SELECT * FROM parent WHERE id = 1 FOR UPDATE") == "1205"
        assert time.monotonic() - started < MYSQL_LOCK_WAIT_TIMEOUT_S + 1.5
        await b.rollback()
        await a.rollback()
        # A deadlock: each holds one row and wants the other's; InnoDB picks one victim.
        await a.execute(text("UPDATE parent SET id = id WHERE id = 1"))
        await b.execute(text("UPDATE parent SET id = id WHERE id = 2"))
        # Whichever UPDATE reaches the server first waits; the other closes the cycle.
        waiting = asyncio.ensure_future(_code(a, "UPDATE parent SET id = id WHERE id = 2"))
        codes = {await _code(b, "UPDATE parent SET id = id WHERE id = 1"), await waiting}
        assert "1213" in codes
        await a.rollback()
        await b.rollback()
    assert {"1452"} <= FK_CODES
    assert {"1205", "3572", "1969"} <= LOCK_CODES
    assert {"1213", "1062"} <= CONFLICT_CODES


# -- the janitor ---------------------------------------------------------------------------


@pytest.mark.mariadb
async def test_the_janitor_sees_a_transaction_left_open_and_not_one_ended(
    engine: AsyncEngine, mariadb_database: Database
) -> None:
    name = make_url(mariadb_database.url).database or ""
    admin = await mariadb.admin_connection(make_url(mariadb_database.url))
    try:
        async with engine.connect() as left_open:
            await left_open.execute(text("INSERT INTO parent VALUES (7)"))
            assert await mariadb.open_transactions(admin, name) == 1
            await left_open.rollback()
            assert await mariadb.open_transactions(admin, name) == 0
    finally:
        admin.close()


# -- the incident -------------------------------------------------------------------------

RUN = [sys.executable, "-m", "scenarios", "run", "--quiet", "--db", "mariadb"]


def _run(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **environment}
    if "CI" not in environment:
        env.pop("CI", None)
    return subprocess.run(
        [*RUN, *arguments], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.mark.mariadb
def test_the_new_chat_fails_in_about_a_second_with_1205_and_the_fix_is_clean(
    tmp_path: os.PathLike[str],
) -> None:
    import json
    from pathlib import Path

    reports = Path(tmp_path)
    done = _run(
        "--wiring",
        "two_sessions,shared_session",
        "-k",
        "_session",
        "--stateful-examples",
        "0",
        "--reports",
        str(reports),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    cells = {
        (c["wiring"], c["scenario"]): c
        for c in json.loads((reports / "matrix.json").read_text())["cells"]
    }
    if all(c["verdict"] == "skipped" for c in cells.values()):
        from tests.conftest import without_mariadb

        without_mariadb(next(iter(cells.values()))["detail"])
    new_chat = cells[("two_sessions", "first_message_new_session")]
    assert new_chat["observed"] == "lock_timeout"
    assert "1205" in new_chat["detail"]
    assert new_chat["duration_s"] < MYSQL_LOCK_WAIT_TIMEOUT_S + 2  # never the 50 s default
    existing = cells[("two_sessions", "message_to_existing_session")]
    assert existing["observed"] == "lost_write"
    for scenario in ("first_message_new_session", "message_to_existing_session"):
        assert cells[("shared_session", scenario)]["observed"] == "ok"
    # Skipped: the after-response scenarios where FastAPI < 0.118 has no point after a response.
    assert all(c["verdict"] in ("as_expected", "skipped") for c in cells.values())
    # The report page draws the incident's MariaDB timeline: the error on the lane it struck.
    page = (reports / "index.html").read_text(encoding="utf-8")
    assert '"text":"lock wait timeout (MySQL error 1205)' in page
    assert "closed without commit: messages 1, sessions 1 flushed, never committed" in page


@pytest.mark.mariadb
def test_an_unreachable_server_is_skipped_locally_and_fails_under_ci() -> None:
    nowhere = "mysql://harness:s3cret@127.0.0.1:1/"
    local = _run(
        "--wiring", "two_sessions", "-k", "first_message", **{MARIADB_URL_VARIABLE: nowhere}
    )
    # Every cell skipped, with the reason, so nothing was proved: exit 1, not a traceback.
    assert local.returncode == 1, local.stderr
    assert "0 as expected, 0 unexpected, 1 skipped" in local.stdout
    assert "cannot reach MariaDB/MySQL at mysql+aiomysql://harness:***@127.0.0.1:1/" in local.stdout
    assert "s3cret" not in local.stdout + local.stderr
    under_ci = _run(
        "--wiring",
        "two_sessions",
        "-k",
        "first_message",
        CI="true",
        **{MARIADB_URL_VARIABLE: nowhere},
    )
    assert under_ci.returncode == 2
    assert "MariaDB/MySQL is required under CI" in under_ci.stderr
    assert "s3cret" not in under_ci.stdout + under_ci.stderr


def test_a_mysql_error_is_named_by_its_number_on_the_timeline() -> None:
    import pymysql.err

    from scenarios.timeline.recorder import describe_error

    text = describe_error(pymysql.err.OperationalError(1205, "Lock wait timeout exceeded"))
    assert text.startswith("lock wait timeout (MySQL error 1205): ")
    duplicate = describe_error(pymysql.err.IntegrityError(1062, "Duplicate entry"))
    assert duplicate.startswith("duplicate key (MySQL error 1062)")
