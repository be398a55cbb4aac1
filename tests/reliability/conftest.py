"""The reliability suite's fixtures: the size of the load, clean tables, and the report of what
each wiring lost under load and faults (reports/reliability.json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.load import LoadPlan
from scenarios.databases import Database
from tests.conftest import TableCleaner
from tests.whole_matrix import worker_id

# The test run's load; `nox -s bench` sends the full 500 over 50. Override with
# HARNESS_LOAD_REQUESTS / HARNESS_LOAD_SESSIONS.
TEST_REQUESTS = 100
TEST_SESSIONS = 10
# One request in ten carries a fault, so "a failed request leaves nothing" is checked under load.
FAULT_EVERY = 10


@pytest.fixture(scope="session")
def load_plan() -> LoadPlan:
    return LoadPlan.from_environment(TEST_REQUESTS, TEST_SESSIONS, fault_every=FAULT_EVERY)


@pytest.fixture
async def clean_database(database: Database, table_cleaner: TableCleaner) -> Database:
    """The parametrised database (SQLite, then Postgres), with empty tables."""
    return await table_cleaner.empty(database)


class ReliabilityReport:
    """What each wiring lost, counted, so a known bug is recorded rather than hidden."""

    def __init__(self) -> None:
        self.load: list[dict[str, Any]] = []
        self.faults: list[dict[str, Any]] = []

    @classmethod
    def merged(cls, parts: list[Path]) -> ReliabilityReport:
        """One report from the parts pytest-xdist workers wrote (see tests/conftest.py)."""
        report = cls()
        for part in parts:
            document = json.loads(part.read_text(encoding="utf-8"))
            report.load += document["load"]
            report.faults += document["faults"]
        return report

    def write(self, path: Path) -> None:
        key = ("db", "wiring")
        document = {
            "about": "what each wiring loses under load and injected faults; written by "
            "tests/reliability (a partial run writes only the cases it ran)",
            "load": sorted(self.load, key=lambda r: tuple(r[k] for k in key)),
            "faults": sorted(self.faults, key=lambda r: (r["db"], r["wiring"], r["point"])),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def reliability_report(pytestconfig: pytest.Config) -> Iterator[ReliabilityReport]:
    report = ReliabilityReport()
    yield report
    if report.load or report.faults:
        report.write(reliability_report_path(pytestconfig.rootpath))


def reliability_report_path(root: Path) -> Path:
    """reports/reliability.json; a pytest-xdist worker writes its part beside it, and the
    controller merges the parts when the run ends (tests/conftest.py)."""
    worker = worker_id()
    if worker is None:
        return root / "reports" / "reliability.json"
    return reliability_parts_dir(root) / f"{worker}.json"


def reliability_parts_dir(root: Path) -> Path:
    return root / "reports" / "reliability-parts"
