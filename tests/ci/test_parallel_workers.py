"""`nox -s tests -- -n auto`: each pytest-xdist worker gets scratch databases of its own (a
SQLite file and a Postgres database), and all of them are gone when the run ends."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from scenarios.databases import postgres_server_url

REPO_ROOT = Path(__file__).resolve().parents[2]

INNER_TEST = """
import json, os, pathlib
import pytest
from tests.conftest import postgres_database, sqlite_database
from tests.whole_matrix import worker_id

@pytest.mark.parametrize("n", range(8))
async def test_records_its_databases(n, sqlite_database, postgres_database):
    path = pathlib.Path(os.environ["RECORDS"]) / f"{worker_id()}-{n}.json"
    path.write_text(json.dumps({"sqlite": sqlite_database.url, "pg": postgres_database.url}))
    assert pathlib.Path(sqlite_database.url.split("///", 1)[1]).parent.is_dir()
"""

INNER_CONFIG = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
"""


async def _existing_databases(names: set[str]) -> set[str]:
    server = postgres_server_url()
    dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        rows = await connection.fetch("SELECT datname FROM pg_database")
    finally:
        await connection.close()
    return names & {row["datname"] for row in rows}


@pytest.mark.postgres
def test_each_worker_has_its_own_databases_and_drops_them(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    records = tmp_path / "records"
    records.mkdir()
    monkeypatch.setenv("RECORDS", str(records))
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    monkeypatch.setenv("CI", "true")  # an unreachable Postgres fails instead of skipping
    pytester.makeini(INNER_CONFIG)
    pytester.makepyfile(test_inner=INNER_TEST)
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)

    seen: dict[str, set[tuple[str, str]]] = {}
    for path in records.glob("*.json"):
        worker = path.stem.rsplit("-", 1)[0]
        urls = json.loads(path.read_text())
        seen.setdefault(worker, set()).add((urls["sqlite"], urls["pg"]))
    assert sorted(seen) == ["gw0", "gw1"]
    # One pair per worker (session fixtures), and no database shared between the workers.
    assert all(len(pairs) == 1 for pairs in seen.values()), seen
    (sqlite_a, pg_a), (sqlite_b, pg_b) = (next(iter(p)) for p in seen.values())
    assert sqlite_a != sqlite_b
    assert pg_a != pg_b
    # All dropped at the end: the files and the Postgres databases.
    for url in (sqlite_a, sqlite_b):
        assert not Path(url.split("///", 1)[1]).exists()
    names = {str(make_url(url).database) for url in (pg_a, pg_b)}
    assert asyncio.run(_existing_databases(names)) == set()
