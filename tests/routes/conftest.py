"""Run the route door from a test: on SQLite and on Postgres (skipped with the reason when the
server is unreachable, failed under CI), each run on scratch databases of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from scenarios.databases import PostgresUnavailable
from scenarios.routes.run import Limits, RoutesResult, check_routes
from scenarios.sweep.app import AppFactory
from tests.conftest import without_postgres

Routes = Callable[..., RoutesResult]
QUICK = Limits(examples=4, budget_s=40.0, max_boundaries=20)
RUN_BOUND_S = 240.0


def run_routes_blocking(
    factory: AppFactory, db: str, *, headers: dict[str, str] | None = None, limits: Limits = QUICK
) -> RoutesResult:
    """The door on a loop of its own (the test's loop is pytest-asyncio's), bounded."""
    label = getattr(factory, "__name__", "app")
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(
            asyncio.run, check_routes(factory, db, label=label, headers=headers, limits=limits)
        )
        return future.result(timeout=RUN_BOUND_S)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run_routes(db: str) -> Routes:
    def run(factory: AppFactory, **options: object) -> RoutesResult:
        try:
            return run_routes_blocking(factory, db, **options)  # type: ignore[arg-type]
        except PostgresUnavailable as unavailable:
            without_postgres(unavailable)

    return run
