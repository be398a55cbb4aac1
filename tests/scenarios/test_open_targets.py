"""`run_matrix(open_targets=N)` opens at most N targets at once on each database (each holds its
app's connection pool), and judges every case as the unbounded run does: the bound that lets two
whole matrices share one Postgres server's 100 connections (tests/whole_matrix.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from reference_app.adapter import ReferenceTarget, ReferenceTargetFactory
from scenarios.databases import Database
from scenarios.matrix import CASE_SHARDS, run_matrix
from scenarios.scenario import load_pack

WIRINGS = ("two_sessions", "shared_session", "unit_of_work")
SCENARIOS = ("first_message_new_session", "read_back_at_once")


class CountingFactory(ReferenceTargetFactory):
    """The reference adapter, counting the targets open at once."""

    def __init__(self) -> None:
        super().__init__()
        self.open_now = 0
        self.most_open = 0

    @asynccontextmanager
    async def open(self, wiring: str, database: Database) -> AsyncIterator[ReferenceTarget]:
        async with super().open(wiring, database) as target:
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
            try:
                yield target
            finally:
                self.open_now -= 1


async def _run(open_targets: int | None) -> tuple[int, list[tuple[str, str, str, str]]]:
    factory = CountingFactory()
    pack = [scenario for scenario in load_pack() if scenario.name in SCENARIOS]
    run = await run_matrix(
        factory, wirings=WIRINGS, databases=["sqlite"], scenarios=pack, open_targets=open_targets
    )
    assert not run.unexpected, [r.detail for r in run.unexpected]
    verdicts = sorted((r.wiring, r.scenario, r.interleaving, r.observed) for r in run.results)
    return factory.most_open, verdicts


async def test_at_most_open_targets_are_open_at_once_and_every_verdict_is_the_same() -> None:
    shards = len(WIRINGS) * CASE_SHARDS
    unbounded_most, unbounded = await _run(None)
    bounded_most, bounded = await _run(2)
    assert unbounded_most == shards  # the twin: without a bound every shard is open at once
    assert bounded_most == 2
    assert bounded == unbounded
    assert len(bounded) == len(WIRINGS) * sum(
        len(s.interleavings()) for s in load_pack() if s.name in SCENARIOS
    )
