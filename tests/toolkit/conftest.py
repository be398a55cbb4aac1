"""A scratch MariaDB/MySQL database for the toolkit's tests (HARNESS_MARIADB_URL): skipped with
the reason when the server does not answer, failed under CI."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from scenarios.mariadb import MariaDBUnavailable, scratch_mariadb
from scenarios.scratch import Database, server_required


def without_mariadb(why: object) -> None:
    if server_required():
        pytest.fail(f"MariaDB/MySQL is required under CI: {why}")
    pytest.skip(f"MariaDB/MySQL unavailable: {why}")


@pytest_asyncio.fixture(scope="session")
async def mariadb_database() -> AsyncIterator[Database]:
    scratch = scratch_mariadb()
    try:
        database = await scratch.__aenter__()
    except MariaDBUnavailable as unavailable:
        without_mariadb(unavailable)
    try:
        yield database
    finally:
        await scratch.__aexit__(None, None, None)
