"""The toolkit on a real MariaDB/MySQL server, through each driver teams use: `bound_waits`
turns the incident's 50-second foreign-key lock wait into error 1205 in about a second, and
`driver_error_code` reads the server's error number (1205, 1213, 1452, 1062) from aiomysql,
asyncmy, PyMySQL and mysqlclient alike."""

from __future__ import annotations

import asyncio
import importlib
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from scenarios.scratch import Database
from scenarios.toolkit import (
    RETRYABLE_CODES,
    WaitBounds,
    bound_waits,
    connect_arguments,
    driver_error_code,
    response_for_exception,
)

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

ASYNC_DRIVERS = {"aiomysql": "aiomysql", "asyncmy": "asyncmy"}
SYNC_DRIVERS = {"pymysql": "pymysql", "mysqldb": "MySQLdb"}  # SQLAlchemy's name: import name
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS tk_parents (id INT PRIMARY KEY) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS tk_children (id INT PRIMARY KEY, parent_id INT, "
    "FOREIGN KEY (parent_id) REFERENCES tk_parents (id)) ENGINE=InnoDB",
)
# About a second: InnoDB's bound is whole seconds, measured 1.0 s on MariaDB 10.11.
LOCK_WAIT_REPORTED_WITHIN_S = 3.0


def _url(database: Database, driver: str) -> str:
    importlib.import_module(ASYNC_DRIVERS.get(driver) or SYNC_DRIVERS[driver])
    url = make_url(database.url)
    return url.set(drivername=f"mysql+{driver}").render_as_string(hide_password=False)


def _installed(driver: str) -> str:
    """The driver's name; a driver that is not installed is a skip on a developer's machine and
    a failure under CI, which installs every one (the test group; mysqlclient by `nox -s tests`
    under CI, as it compiles against libmariadb): a driver the toolkit claims is proven there."""
    module = ASYNC_DRIVERS.get(driver) or SYNC_DRIVERS[driver]
    try:
        importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"the {driver} driver is not installed, and CI must prove it")
        pytest.skip(f"the {driver} driver is not installed")
    return driver


@pytest_asyncio.fixture
async def schema(mariadb_database: Database) -> AsyncIterator[Database]:
    engine = create_async_engine(mariadb_database.url)
    try:
        async with engine.begin() as connection:
            for statement in SCHEMA:
                await connection.execute(text(statement))
            await connection.execute(text("DELETE FROM tk_children"))
            await connection.execute(text("DELETE FROM tk_parents"))
            await connection.execute(text("INSERT INTO tk_parents (id) VALUES (1), (2)"))
        yield mariadb_database
    finally:
        await engine.dispose()


@pytest_asyncio.fixture(params=sorted(ASYNC_DRIVERS))
async def async_engine(
    request: pytest.FixtureRequest, schema: Database
) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(_url(schema, _installed(request.param)))
    bound_waits(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(params=sorted(SYNC_DRIVERS))
def sync_engine(request: pytest.FixtureRequest, schema: Database) -> Iterator[Engine]:
    engine = create_engine(_url(schema, _installed(request.param)))
    bound_waits(engine)
    try:
        yield engine
    finally:
        engine.dispose()


async def test_bound_waits_sets_a_one_second_lock_wait_on_each_async_driver(
    async_engine: AsyncEngine,
) -> None:
    async with async_engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT @@innodb_lock_wait_timeout, @@lock_wait_timeout, VERSION()")
            )
        ).one()
    assert (row[0], row[1]) == (1, 1)


def test_bound_waits_sets_a_one_second_lock_wait_on_each_sync_driver(sync_engine: Engine) -> None:
    with sync_engine.connect() as connection:
        row = connection.execute(
            text("SELECT @@innodb_lock_wait_timeout, @@lock_wait_timeout")
        ).one()
        version = str(connection.scalar(text("SELECT VERSION()")))
        if "mariadb" in version.lower():
            assert connection.scalar(text("SELECT @@max_statement_time")) == 5
    assert (row[0], row[1]) == (1, 1)


async def test_the_seeds_child_insert_fails_with_1205_in_about_a_second_async(
    async_engine: AsyncEngine,
) -> None:
    """The seed's shape: one session inserts a parent and keeps its transaction open, another
    inserts a child pointing at it; InnoDB's FK check waits for the parent's row lock."""
    async with async_engine.connect() as repository, async_engine.connect() as request:
        await repository.execute(text("INSERT INTO tk_parents (id) VALUES (10)"))
        started = time.perf_counter()
        with pytest.raises(DBAPIError) as raised:
            await request.execute(text("INSERT INTO tk_children (id, parent_id) VALUES (1, 10)"))
        waited = time.perf_counter() - started
        await repository.rollback()
    assert driver_error_code(raised.value) == "1205"
    assert driver_error_code(raised.value.orig) == "1205"  # type: ignore[arg-type]
    assert 0.5 < waited < LOCK_WAIT_REPORTED_WITHIN_S
    assert "1205" in RETRYABLE_CODES
    assert response_for_exception(raised.value).error_code == "1205"


def test_the_seeds_child_insert_fails_with_1205_in_about_a_second_sync(
    sync_engine: Engine,
) -> None:
    with sync_engine.connect() as repository, sync_engine.connect() as request:
        repository.execute(text("INSERT INTO tk_parents (id) VALUES (10)"))
        started = time.perf_counter()
        with pytest.raises(DBAPIError) as raised:
            request.execute(text("INSERT INTO tk_children (id, parent_id) VALUES (1, 10)"))
        waited = time.perf_counter() - started
        repository.rollback()
    assert driver_error_code(raised.value) == "1205"
    assert 0.5 < waited < LOCK_WAIT_REPORTED_WITHIN_S


async def test_foreign_key_and_duplicate_key_numbers_async(async_engine: AsyncEngine) -> None:
    codes = []
    for statement in (
        "INSERT INTO tk_children (id, parent_id) VALUES (2, 999)",
        "INSERT INTO tk_parents (id) VALUES (1)",
    ):
        async with async_engine.connect() as connection:
            with pytest.raises(DBAPIError) as raised:
                await connection.execute(text(statement))
            codes.append(driver_error_code(raised.value))
    assert codes == ["1452", "1062"]


def test_foreign_key_and_duplicate_key_numbers_sync(sync_engine: Engine) -> None:
    codes = []
    for statement in (
        "INSERT INTO tk_children (id, parent_id) VALUES (2, 999)",
        "INSERT INTO tk_parents (id) VALUES (1)",
    ):
        with sync_engine.connect() as connection:
            with pytest.raises(DBAPIError) as raised:
                connection.execute(text(statement))
            codes.append(driver_error_code(raised.value))
    assert codes == ["1452", "1062"]


async def test_a_deadlock_is_1213_async(async_engine: AsyncEngine) -> None:
    """Two connections lock rows 1 and 2, then each asks for the other's: InnoDB picks one."""
    async with async_engine.connect() as first, async_engine.connect() as second:
        await first.execute(text("UPDATE tk_parents SET id = id WHERE id = 1"))
        await second.execute(text("UPDATE tk_parents SET id = id WHERE id = 2"))
        results = await asyncio.gather(
            first.execute(text("SELECT id FROM tk_parents WHERE id = 2 FOR UPDATE")),
            second.execute(text("SELECT id FROM tk_parents WHERE id = 1 FOR UPDATE")),
            return_exceptions=True,
        )
        await first.rollback()
        await second.rollback()
    codes = {driver_error_code(r) for r in results if isinstance(r, BaseException)}
    assert codes == {"1213"}
    assert "1213" in RETRYABLE_CODES


def test_a_deadlock_is_1213_sync(sync_engine: Engine) -> None:
    errors: list[BaseException] = []
    with sync_engine.connect() as first, sync_engine.connect() as second:
        first.execute(text("UPDATE tk_parents SET id = id WHERE id = 1"))
        second.execute(text("UPDATE tk_parents SET id = id WHERE id = 2"))

        def lock(connection: object, row: int) -> None:
            try:
                connection.execute(  # type: ignore[attr-defined]
                    text(f"SELECT id FROM tk_parents WHERE id = {row} FOR UPDATE")
                )
            except DBAPIError as error:
                errors.append(error)

        # Whichever request reaches the server first waits; the other closes the cycle, and
        # InnoDB picks its victim at once: no need to wait for the first one to be waiting.
        waiter = threading.Thread(target=lock, args=(first, 2))
        waiter.start()
        lock(second, 1)
        waiter.join(timeout=LOCK_WAIT_REPORTED_WITHIN_S)
        assert not waiter.is_alive()
        first.rollback()
        second.rollback()
    assert {driver_error_code(error) for error in errors} == {"1213"}


def test_bound_waits_keeps_the_apps_own_init_command(schema: Database) -> None:
    """The app's `init_command` still runs: the bounds come from a `connect` event."""
    _installed("pymysql")
    engine = create_engine(
        _url(schema, "pymysql"), connect_args={"init_command": "SET SESSION sql_mode = 'ANSI'"}
    )
    bound_waits(engine, WaitBounds(mysql_lock_wait_timeout_s=2))
    try:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT @@sql_mode, @@innodb_lock_wait_timeout")).one()
    finally:
        engine.dispose()
    assert "ANSI" in row[0]
    assert row[1] == 2


def test_connect_arguments_for_mysql_drivers_bound_lock_waits() -> None:
    for driver in ("aiomysql", "asyncmy", "pymysql", "mysqldb"):
        command = connect_arguments(driver)["init_command"]
        assert "innodb_lock_wait_timeout = 1" in command
        assert "lock_wait_timeout = 1" in command


def test_error_numbers_of_raw_driver_exceptions() -> None:
    """Each driver's own exception, as an app that catches it sees it; 3572 is MySQL 8's
    NOWAIT (MariaDB answers NOWAIT with 1205), raised here as the driver would raise it."""
    pymysql = pytest.importorskip("pymysql")
    assert driver_error_code(pymysql.err.OperationalError(3572, "NOWAIT is set")) == "3572"
    assert driver_error_code(pymysql.err.IntegrityError(1062, "Duplicate entry")) == "1062"
    for module, name in (("asyncmy.errors", "OperationalError"), ("MySQLdb", "OperationalError")):
        try:
            error_class = getattr(importlib.import_module(module), name)
        except ImportError:
            continue
        assert driver_error_code(error_class(1205, "Lock wait timeout exceeded")) == "1205"
    assert driver_error_code(ValueError(1205, "not a driver's error")) is None
