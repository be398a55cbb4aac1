"""Scratch databases for the test session: a SQLite file and a Postgres database of our own.

Postgres comes from HARNESS_PG_URL, MariaDB/MySQL from HARNESS_MARIADB_URL; when one is
unreachable, tests that need it are skipped locally with the reason and fail under CI.

Under pytest-xdist (`nox -s tests -- -n auto`) every worker is a process with its own test
session, so each gets its own SQLite file and its own Postgres database, both dropped when the
worker ends; the controller merges what the workers wrote to reports/ (reliability.json).

Every test that is not fast carries the `slow` marker, given here at collection by what the test
uses (tests/tiers.py), so `nox -s quick` (`pytest -m "not slow"`) is the one-minute loop.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NoReturn

import pytest
import pytest_asyncio
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from scenarios.databases import (
    KINDS,
    Database,
    PostgresUnavailable,
    ServerUnavailable,
    open_scratch_database,
    postgres_required,
    postgres_server_url,
)
from scenarios.inputs import EXIT_BAD_INPUT, BadInput, check_environment
from scenarios.matrix import MatrixRun, run_matrix
from scenarios.scenario import load_pack
from tests.tiers import mark_slow_tests, slow_tests_deselected
from tests.whole_matrix import OPEN_TARGETS, run_once_per_test_run, worker_id

pytest_plugins = ["pytester"]

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def examples_in_pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    """`examples/` is not installed (the wheel ships `scenarios` and `reference_app` only): this
    pytest imports it from the checkout, and pytester's subprocesses from their own folder,
    where it is linked, as a team's project holds its own code. (Not the checkout on
    PYTHONPATH: its egg-info would count as a second installed distribution.)"""
    (pytester.path / "examples").symlink_to(REPO_ROOT / "examples", target_is_directory=True)
    return pytester


@pytest_asyncio.fixture(scope="session")
async def sqlite_database() -> AsyncIterator[Database]:
    async with open_scratch_database("sqlite") as database:
        yield database


def without_postgres(why: object) -> NoReturn:
    """No Postgres for a test: a failure under CI (`CI` set), a skip with the reason elsewhere."""
    if postgres_required():
        pytest.fail(f"PostgreSQL is required under CI: {why}")
    pytest.skip(f"PostgreSQL unavailable: {why}")


@contextlib.asynccontextmanager
async def scratch_or_without_postgres(kind: str) -> AsyncIterator[Database]:
    """A scratch database of `kind`; an unreachable Postgres goes through without_postgres()."""
    scratch = open_scratch_database(kind)
    try:
        database = await scratch.__aenter__()
    except PostgresUnavailable as unavailable:
        without_postgres(unavailable)
    try:
        yield database
    finally:
        await scratch.__aexit__(None, None, None)


@pytest_asyncio.fixture(scope="session")
async def postgres_database() -> AsyncIterator[Database]:
    async with scratch_or_without_postgres("postgresql") as database:
        yield database


def without_mariadb(why: object) -> NoReturn:
    """No MariaDB/MySQL for a test: a failure under CI (`CI` set), a skip elsewhere."""
    if postgres_required():
        pytest.fail(f"MariaDB/MySQL is required under CI: {why}")
    pytest.skip(f"MariaDB/MySQL unavailable: {why}")


@pytest_asyncio.fixture(scope="session")
async def mariadb_database() -> AsyncIterator[Database]:
    """A scratch database on the server HARNESS_MARIADB_URL names (tests marked `mariadb`)."""
    scratch = open_scratch_database("mariadb")
    try:
        database = await scratch.__aenter__()
    except ServerUnavailable as unavailable:
        without_mariadb(unavailable)
    try:
        yield database
    finally:
        await scratch.__aexit__(None, None, None)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Database:
    """Each test that takes `database` runs once on SQLite and once on Postgres."""
    fixture = {"sqlite": "sqlite_database", "postgresql": "postgres_database"}[request.param]
    return request.getfixturevalue(fixture)  # type: ignore[no-any-return]


@pytest_asyncio.fixture(scope="session")
async def reference_matrix(tmp_path_factory: pytest.TempPathFactory) -> MatrixRun:
    """One run of the whole pack on the reference app (every wiring on every database; no
    stateful search), shared by the tests that only read it: the report's page and the pack's
    proof that it can fail. A full matrix is the suite's most expensive fixture: it runs once
    per test run, under pytest-xdist too (tests/whole_matrix.py); the pack's own pytest items
    (the `scenario_target` ini option) run the pack once more, through the plugin."""
    from reference_app.adapter import TARGET

    return await run_once_per_test_run(
        tmp_path_factory,
        "reference-matrix",
        lambda: run_matrix(
            TARGET,
            wirings=list(TARGET.wirings),
            databases=list(KINDS),
            scenarios=load_pack(),
            open_targets=OPEN_TARGETS,
        ),
    )


@pytest_asyncio.fixture(scope="session")
async def zoo_matrix(
    request: pytest.FixtureRequest,
    postgres_database: Database,
    mariadb_database: Database,
    tmp_path_factory: pytest.TempPathFactory,
) -> MatrixRun:
    """The zoo's whole matrix (tests/zoo/shared.py), once per test run, for tests/zoo and the
    leak tests of tests/stateful. `postgres_database` and `mariadb_database` make an
    unreachable server a skip locally and a failure under CI."""
    from tests.zoo.shared import zoo_matrix

    return await zoo_matrix(request.session, tmp_path_factory)


class TableCleaner:
    """Empties the reference app's tables before a test, on a connection of its own (DELETE,
    never a rollback of the app's work). The schema is created once per database and the engine
    kept; each emptying is still one fresh connection, so no connection of the suite's outlives
    it (tests count and kill the backends of their database). `serving.empty_tables` opened two
    connections on a new engine and checked the schema each time: 0.1 s more per Postgres test."""

    def __init__(self) -> None:
        self._engines: dict[str, AsyncEngine] = {}

    async def empty(self, database: Database) -> Database:
        from reference_app.infrastructure.database import create_engine, create_schema
        from reference_app.serving import TABLES_IN_DELETE_ORDER

        engine = self._engines.get(database.url)
        if engine is None:
            engine = create_engine(database.url, poolclass=NullPool)  # the app's bounded waits
            try:
                await create_schema(engine)
            except BaseException:
                await engine.dispose()
                raise
            self._engines[database.url] = engine
        async with engine.begin() as connection:
            for table in TABLES_IN_DELETE_ORDER:
                await connection.execute(delete(table))
        return database

    async def close(self) -> None:
        for engine in self._engines.values():
            await engine.dispose()


@pytest_asyncio.fixture(scope="session")
async def table_cleaner() -> AsyncIterator[TableCleaner]:
    cleaner = TableCleaner()
    try:
        yield cleaner
    finally:
        await cleaner.close()


def pytest_configure(config: pytest.Config) -> None:
    """A bad HARNESS_* variable stops the suite before the first test, in one line. The
    Postgres server is settled here, before any worker process starts: when the run starts its
    own (HARNESS_PG_URL=embedded, or unset with nothing at the default address), every test and
    worker uses that one (it says so in one line on stderr)."""
    try:
        check_environment()
    except BadInput as error:
        pytest.exit(f"error: {error}", returncode=EXIT_BAD_INPUT)
    if not slow_tests_deselected(config):  # the fast tests never use Postgres: start none
        with contextlib.suppress(PostgresUnavailable):
            postgres_server_url()
    if worker_id() is None:  # the controller (or a plain run): no parts of an earlier run
        from tests.reliability.conftest import reliability_parts_dir

        shutil.rmtree(reliability_parts_dir(config.rootpath), ignore_errors=True)


# The files that take longest (test time in CI, 3 workers, 2026-12-06): pytest-xdist hands out
# files in collection order, so these go first, and the run does not end on one worker still
# in the zoo while the others sit idle.
LONGEST_FIRST = (
    "tests/zoo/test_zoo.py",  # 165 s: the zoo's whole matrix
    "tests/stateful/test_request_histories.py",  # 141 s: the CI profile's 200-example searches
    "tests/report/test_browser.py",  # 47 s: the reference app's whole matrix, then Chromium
    "tests/porting/test_stateful_on_support_desk.py",  # 39 s
    "tests/porting/test_support_desk_pack.py",  # 32 s
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `slow` every test that is not fast (tests/tiers.py), the pack's own items included,
    so new tests are classified by what they use, without editing them; the longest files
    first (each file's tests in their order)."""
    mark_slow_tests(items)
    rank = {config.rootpath / path: place for place, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path, len(rank)))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller joins the workers' parts of reports/reliability.json into one file."""
    if worker_id() is not None:
        return
    from tests.reliability.conftest import (
        ReliabilityReport,
        reliability_parts_dir,
        reliability_report_path,
    )

    parts_dir = reliability_parts_dir(session.config.rootpath)
    parts = sorted(parts_dir.glob("*.json"))
    if parts:
        ReliabilityReport.merged(parts).write(reliability_report_path(session.config.rootpath))
        shutil.rmtree(parts_dir, ignore_errors=True)
