"""Run a sweep from a test: on SQLite and on Postgres (skipped with the reason when the server
is unreachable, failed under CI), each sweep on a scratch database of its own."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from scenarios.databases import PostgresUnavailable
from scenarios.sweep import RequestSweep, SweepResult, SweepVerdict
from scenarios.sweep.app import AppFactory
from scenarios.sweep.pytest_plugin import run_sweep_blocking
from tests.conftest import without_postgres

Sweep = Callable[..., SweepResult]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run_sweep(db: str) -> Sweep:
    """`run_sweep(factory, *requests, **options)` on the parametrised database."""

    def run(factory: AppFactory | str, *requests: str, **options: object) -> SweepResult:
        try:
            return run_sweep_blocking(factory, *requests, db=db, **options)  # type: ignore[arg-type]
        except PostgresUnavailable as unavailable:
            without_postgres(unavailable)

    return run


def outcomes_by_boundary(request: RequestSweep) -> dict[str, SweepVerdict]:
    """`{"4S": partial_commit, ...}`: the row of the report, as a test reads it."""
    return {
        f"{b.event.index}{b.event.kind[0].upper()}": b.judgement.outcome for b in request.boundaries
    }


def commit_indexes(request: RequestSweep) -> list[int]:
    return [event.index for event in request.timeline if event.kind == "commit"]
