"""Whatever a target does, a case ends with a verdict and the next case runs: an exception
(a reset that finds the database locked) and the last-resort timeout both become `error`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from scenarios import runner
from scenarios.adapter import (
    Capability,
    ChatRequest,
    ChatResponse,
    DatabaseState,
    PointHook,
    SeedConversation,
)
from scenarios.outcomes import Verdict
from scenarios.scenario import Scenario, load_scenario


class BrokenTarget:
    """Not a database: a target whose reset fails like a locked file, or whose app hangs."""

    capabilities = Capability.ALL

    def __init__(self, *, reset_fails: bool = False, hangs: bool = False) -> None:
        self.reset_fails = reset_fails
        self.hangs = hangs

    async def send(self, request: ChatRequest, hook: PointHook | None = None) -> ChatResponse:
        if self.hangs:
            await asyncio.Event().wait()
        return ChatResponse(201)

    async def read_back(self, session: str) -> ChatResponse:
        return ChatResponse(404)

    async def read_state(self) -> DatabaseState:
        return DatabaseState(sessions=frozenset())

    async def reset(self) -> None:
        if self.reset_fails:
            raise RuntimeError("database is locked")

    async def seed(self, conversations: Sequence[SeedConversation]) -> None:
        return None


def _case(tmp_path: Path) -> Scenario:
    path = tmp_path / "one.toml"
    path.write_text(
        'format = 1\nguards = "x."\n[[request]]\nsession = "chat"\ncontent = "hi"\n',
        encoding="utf-8",
    )
    return load_scenario(path)


async def test_a_case_whose_reset_fails_ends_as_error_and_the_next_case_runs(
    tmp_path: Path,
) -> None:
    case = _case(tmp_path)
    results = await runner.run_scenarios(
        BrokenTarget(reset_fails=True),
        [case, case],
        wiring="w",
        db="sqlite",
        expected_outcome=lambda *_: "ok",
    )
    assert [r.observed for r in results] == ["error", "error"]
    assert all(r.verdict is Verdict.UNEXPECTED for r in results)
    assert results[0].detail == "the case could not run: RuntimeError: database is locked"


async def test_a_case_that_outlives_the_last_resort_timeout_ends_as_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "CASE_TIMEOUT_S", 0.05)
    (result,) = await runner.run_scenarios(
        BrokenTarget(hangs=True),
        [_case(tmp_path)],
        wiring="w",
        db="sqlite",
        expected_outcome=lambda *_: "error",
    )
    assert result.observed == "error"
    assert result.verdict is Verdict.AS_EXPECTED
    assert result.detail == "the case did not finish within 0.05s"
