"""The adapter path survives its adapter: after a case that ends in `error` the target is
opened again on a fresh scratch database (so an `open()` that seeds data, registering its
user, never meets its own rows), and an `open()` that raises turns the cases it kept from
running into `could not run` with the reason; every other case runs, and nothing raises."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from scenarios.adapter import (
    Capability,
    ChatRequest,
    ChatResponse,
    DatabaseState,
    PointHook,
    SeedConversation,
)
from scenarios.case_result import CaseResult
from scenarios.databases import Database, PostgresUnavailable, open_scratch_database
from scenarios.outcomes import Verdict
from scenarios.recovery import run_wiring
from scenarios.scenario import Scenario, load_scenario
from tests.conftest import without_postgres


class FlakyTarget:
    """Answers every request; its reset fails for the case named `fails_in`."""

    capabilities = Capability.ALL

    def __init__(self, factory: SeedingFactory) -> None:
        self.factory = factory

    async def send(self, request: ChatRequest, hook: PointHook | None = None) -> ChatResponse:
        return ChatResponse(201)

    async def read_back(self, session: str) -> ChatResponse:
        return ChatResponse(404)

    async def read_state(self) -> DatabaseState:
        return DatabaseState(sessions=frozenset())

    async def reset(self) -> None:
        self.factory.resets += 1
        if self.factory.resets == 1:
            raise RuntimeError("the first reset fails: the case ends in error")

    async def seed(self, conversations: Sequence[SeedConversation]) -> None:
        return None


class SeedingFactory:
    """An adapter whose `open()` registers its user, as a real app's adapter does: a second
    `open()` on the same database would fail on the unique name."""

    name = "seeding"
    wirings: Sequence[str] = ("as_written",)

    def __init__(self, *, open_fails_at: int | None = None) -> None:
        self.opened: list[str] = []
        self.resets = 0
        self.open_fails_at = open_fails_at

    @asynccontextmanager
    async def open(self, wiring: str, database: Database) -> AsyncIterator[FlakyTarget]:
        self.opened.append(database.url)
        if self.open_fails_at == len(self.opened):
            raise ConnectionError("the app's login answered HTTP 400")
        engine = create_async_engine(database.url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text("CREATE TABLE IF NOT EXISTS users (name VARCHAR(20) UNIQUE)")
                )
                await connection.execute(text("INSERT INTO users (name) VALUES ('sweep')"))
            yield FlakyTarget(self)
        finally:
            await engine.dispose()

    def expected_outcome(self, scenario: str, interleaving: str, wiring: str, database: str) -> str:
        return "ok|error|lost_write"


def _scenarios(tmp_path: Path) -> list[Scenario]:
    found = []
    for name in ("first", "second", "third"):
        path = tmp_path / f"{name}.toml"
        path.write_text(
            'format = 1\nguards = "x."\n[[request]]\nsession = "chat"\ncontent = "hi"\n',
            encoding="utf-8",
        )
        found.append(load_scenario(path))
    return found


async def _run(factory: SeedingFactory, kind: str, tmp_path: Path) -> list[CaseResult]:
    results: list[CaseResult] = []
    try:
        async with open_scratch_database(kind) as database:
            await run_wiring(
                factory,
                database,
                _scenarios(tmp_path),
                wiring="as_written",
                expected_outcome=factory.expected_outcome,
                record=results.append,
            )
    except PostgresUnavailable as unavailable:
        without_postgres(unavailable)
    return results


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_a_reopen_after_an_error_gets_a_fresh_database_so_a_seeding_open_works(
    kind: str, tmp_path: Path
) -> None:
    factory = SeedingFactory()
    results = await _run(factory, kind, tmp_path)
    # the later cases ran (this target stores nothing, so the pack calls its 201s lost writes)
    assert [r.observed for r in results] == ["error", "lost_write", "lost_write"]
    assert len(factory.opened) == 2
    assert factory.opened[0] != factory.opened[1]  # a fresh scratch database for the reopen
    assert results[0].detail.startswith("the case could not run: RuntimeError: the first reset")
    assert not any(r.detail.startswith("could not run: the adapter's") for r in results)


async def test_an_open_that_raises_makes_its_cases_could_not_run_and_the_run_goes_on(
    kind: str, tmp_path: Path
) -> None:
    factory = SeedingFactory(open_fails_at=1)
    results = await _run(factory, kind, tmp_path)
    assert len(results) == 3
    for result in results:
        assert result.verdict is Verdict.UNEXPECTED
        assert result.detail == (
            "could not run: the adapter's open() raised ConnectionError: "
            "the app's login answered HTTP 400"
        )


async def test_a_reopen_that_raises_stops_only_the_cases_after_it(
    kind: str, tmp_path: Path
) -> None:
    factory = SeedingFactory(open_fails_at=2)
    results = await _run(factory, kind, tmp_path)
    assert [r.observed for r in results] == ["error", "error", "error"]
    assert results[0].detail.startswith("the case could not run")  # it ran; its reset failed
    assert all(r.detail.startswith("could not run: the adapter's open()") for r in results[1:])
