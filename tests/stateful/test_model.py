"""The machine's model and invariants, against an in-memory fake target (no database).

Each fake has one known defect; the search must name it with the right outcome. This proves
the checks that the reference wirings do not happen to trip (a silent lost write, an orphan).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import settings

from scenarios.adapter import (
    AFTER_RESPONSE,
    INJECTED_FAULT_CODE,
    POINTS,
    Capability,
    ChatRequest,
    ChatResponse,
    DatabaseState,
    PointHook,
    SeedConversation,
    StoredMessage,
)
from scenarios.outcomes import ACKNOWLEDGED_BEFORE_COMMIT, Outcome
from scenarios.stateful import machine_for_target, search, stateful_settings

LIMIT = 10_000


def _invalid(field: str) -> ChatResponse:
    return ChatResponse(status=422, invalid_fields=(field,), detail=f"{field} is invalid")


class FakeTarget:
    """A correct app in a dict, unless `defect` names what it gets wrong. With `after_response`
    it also calls the hook once the response is made, as FastAPI >= 0.118 runs the code after a
    dependency's `yield`; the defect `commit_after_response` stores only then."""

    capabilities = frozenset({Capability.FAULT_INJECTION, Capability.CONCURRENCY})

    def __init__(self, defect: str | None = None, *, after_response: bool = False) -> None:
        self.defect = defect
        self.after_response = after_response
        if after_response:
            self.capabilities = self.capabilities | {Capability.AFTER_RESPONSE}
        self.messages: dict[str, list[StoredMessage]] = {}
        self.contexts: dict[str, int] = {}

    def _content(self, request: ChatRequest) -> tuple[Any, ChatResponse | None]:
        if request.raw_session is not None:
            return None, _invalid("session_id")
        if request.body is None:
            return request.content, None
        try:
            body = json.loads(request.body.decode("utf-8"))
        except UnicodeDecodeError:
            return None, _invalid("body")
        if "content" not in body:
            return None, _invalid("content")
        return body["content"], None

    async def send(self, request: ChatRequest, hook: PointHook | None = None) -> ChatResponse:
        content, rejected = self._content(request)
        if rejected:
            return rejected
        if not isinstance(content, str) or not content.strip() or len(content) > LIMIT:
            return _invalid("content")
        if "\x00" in content or any(0xD800 <= ord(c) <= 0xDFFF for c in content):
            return _invalid("content")
        key = request.session
        new = key not in self.messages
        staged = list(self.messages.get(key, []))
        staged.append(StoredMessage("user", content, len(staged)))
        context = new
        for point in POINTS:
            if hook is not None and await hook(point):
                if self.defect == "partial":
                    self.messages[key] = staged
                if self.defect == "orphan" and new and point != "after_user_message":
                    self.contexts[key] = 1
                return ChatResponse(status=500, error_code=INJECTED_FAULT_CODE)
            if point == "after_user_message":
                staged.append(StoredMessage("assistant", f"Echo: {content}", len(staged)))

        def commit() -> None:
            self.messages[key] = staged
            if context:
                self.contexts[key] = 1

        late = self.defect == "commit_after_response"
        if not late and not (self.defect == "lose_existing" and not new):
            commit()
        response = ChatResponse(status=201, messages=tuple(staged[-2:]))
        if self.after_response and hook is not None and await hook(AFTER_RESPONSE):
            # The client has its 201; the failure only reaches a log, and the late commit is lost.
            return replace(response, late_failure="InjectedFault: fault injected after response")
        if late:
            commit()
        return response

    async def read_back(self, session: str) -> ChatResponse:
        return ChatResponse(status=200, messages=tuple(self.messages.get(session, ())))

    async def read_state(self) -> DatabaseState:
        sessions = frozenset(self.messages)
        return DatabaseState(
            sessions=sessions,
            messages={k: tuple(v) for k, v in self.messages.items()},
            agent_contexts=dict(self.contexts),
            dangling=tuple(
                f"agent_contexts.session_db_id {k} -> sessions"
                for k in self.contexts
                if k not in sessions
            ),
        )

    async def reset(self) -> None:
        self.messages.clear()
        self.contexts.clear()

    async def seed(self, conversations: Sequence[SeedConversation]) -> None:
        raise NotImplementedError


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        yield runner


@pytest.fixture
def fake_settings() -> settings:
    return stateful_settings("quick", max_examples=40, database=None)


def _search(
    defect: str | None,
    runner: asyncio.Runner,
    fake_settings: settings,
    *,
    after_response: bool = False,
) -> Any:
    return search(_machine(defect, runner, after_response=after_response), fake_settings)


def _machine(defect: str | None, runner: asyncio.Runner, *, after_response: bool = False) -> Any:
    return machine_for_target(
        FakeTarget(defect, after_response=after_response),
        runner,
        name=f"FakeHistory_{defect or 'correct'}_{uuid.uuid4().hex}",
    )


def test_a_correct_app_keeps_every_history(runner, fake_settings) -> None:
    result = _search(None, runner, fake_settings)
    assert result.findings == (), result.summary()


def test_a_silently_lost_message_is_a_lost_write_in_two_steps(runner, fake_settings) -> None:
    """What the search guarantees, not which shrink it lands on: Hypothesis does not promise a
    minimal example, and two-step examples of other shapes (a concurrent batch instead of a
    message to s1) are as short. So: the outcome, a step bound that holds (at least the two
    requests the defect needs, at most one example's step count), and the lost message, named
    by the finding, sent to an existing chat session by one of the example's steps."""
    result = _search("lose_existing", runner, fake_settings)
    assert result.outcome is Outcome.LOST_WRITE, result.summary()
    lost = result.primary
    assert lost is not None
    assert 2 <= len(lost.steps) <= fake_settings.stateful_step_count, lost.steps
    named = re.search(
        r"^(s\d+): acknowledged user message \d+ (.+?) is not in the database", lost.message
    )
    assert named is not None, lost.message
    session, content = named.groups()
    # A step that sent it (never the first: the defect loses messages to existing sessions).
    senders = [
        number
        for number, step in enumerate(lost.steps)
        if content in step and re.search(rf"\b{session}\b", step)
    ]
    assert senders, (lost.message, lost.steps)
    assert senders[-1] >= 1, (lost.message, lost.steps)


def test_rows_left_by_a_failed_request_are_a_partial_commit(runner, fake_settings) -> None:
    result = _search("partial", runner, fake_settings)
    assert result.outcome is Outcome.PARTIAL_COMMIT, result.summary()


def test_an_agent_context_without_its_session_is_reported(runner, fake_settings) -> None:
    result = _search("orphan", runner, fake_settings)
    assert result.primary is not None, result.summary()
    assert "foreign key does not resolve" in result.primary.message


def test_a_correct_app_with_a_point_after_its_response_keeps_every_history(
    runner, fake_settings
) -> None:
    """Reads at once after the 201, and faults there, change nothing when the app committed
    before it answered; the rules that do so ran (a quiet search that never tried proves
    nothing)."""
    machine = _machine(None, runner, after_response=True)
    result = search(machine, fake_settings)
    assert result.findings == (), result.summary()
    assert machine.stats.after_response > 0


def test_a_commit_after_the_response_is_a_lost_write_acknowledged_before_commit(
    runner, fake_settings
) -> None:
    result = _search("commit_after_response", runner, fake_settings, after_response=True)
    assert result.outcome is Outcome.LOST_WRITE, result.summary()
    lost = result.primary
    assert lost is not None
    assert 1 <= len(lost.steps) <= fake_settings.stateful_step_count, lost.steps
    assert lost.message.startswith(ACKNOWLEDGED_BEFORE_COMMIT), lost.message
    assert "read at once after its response" in lost.steps[-1], lost.steps
    assert "HTTP 201" in lost.steps[-1], lost.steps


def test_without_a_point_after_the_response_the_search_cannot_see_that_bug(
    runner, fake_settings
) -> None:
    """The same app, declaring no after_response point (FastAPI < 0.118 has none): its late
    commit always runs, so no history fails, and no rule reads after a response."""
    machine = _machine("commit_after_response", runner)
    result = search(machine, fake_settings)
    assert result.findings == (), result.summary()
    assert machine.stats.after_response == 0


def test_a_violation_that_does_not_replay_is_kept_and_marked_flaky() -> None:
    from hypothesis.errors import FlakyFailure, FlakyStrategyDefinition

    from scenarios.stateful.search import violations_in
    from scenarios.stateful.violations import ErrorFound

    found = ErrorFound("pairs split by a race", steps=("1. batch",), rows={})
    replay = FlakyStrategyDefinition("Inconsistent data generation!")
    violations = violations_in(FlakyFailure("Inconsistent results", [found, replay]))
    assert violations == [(found, True)]


def test_anything_but_a_violation_is_raised_as_is() -> None:
    from scenarios.stateful.search import violations_in

    broken = RuntimeError("the adapter raised")
    with pytest.raises(RuntimeError, match="the adapter raised"):
        violations_in(broken)
