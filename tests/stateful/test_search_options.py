"""What an adapter opts into: the bad-input and concurrency rules can be switched off, content
has bounds from below and above, a database error is never reported as a validation gap, and
Hypothesis's own errors come back as findings, never raised.

Modelled on a real FastAPI app (a RealWorld "Conduit" backend, issue 14) whose validation
required at least 10 characters and whose slugs were random: the shapes below are ours.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import uuid
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import settings
from hypothesis.errors import FailedHealthCheck, FlakyStrategyDefinition

from scenarios.adapter import (
    Capability,
    ChatRequest,
    ChatResponse,
    DatabaseState,
    PointHook,
    SeedConversation,
    StoredMessage,
)
from scenarios.outcomes import Outcome
from scenarios.stateful import (
    FLAKY_NOTE,
    SearchOptions,
    machine_for_target,
    search,
    stateful_settings,
)
from scenarios.stateful.search import replay_note, violations_in
from scenarios.stateful.violations import LostWriteFound


class StrictApp:
    """A correct app in a dict whose validation is its own: `min_chars`..`max_chars` code points
    of stripped text. `fk_bug`: every message to a new chat session fails in the database with
    SQLSTATE 23503, and it lets whitespace-only content through (a validation gap)."""

    capabilities = frozenset({Capability.CONCURRENCY, Capability.REJECTS_BAD_INPUT})

    def __init__(self, min_chars: int = 10, max_chars: int = 64, *, fk_bug: bool = False) -> None:
        self.min_chars, self.max_chars, self.fk_bug = min_chars, max_chars, fk_bug
        self.messages: dict[str, list[StoredMessage]] = {}
        self.bad_requests = 0
        self.in_flight = 0
        self.most_in_flight = 0

    def _invalid_field(self, request: ChatRequest) -> str | None:
        """The field the app names when it refuses the request, or None when it accepts it."""
        if request.raw_session is not None:
            return "session_id"
        content = request.content
        if request.body is not None:
            try:
                content = json.loads(request.body.decode("utf-8")).get("content")
            except UnicodeDecodeError:
                return "body"
        if not isinstance(content, str) or "\x00" in content:
            return "content"
        if any(0xD800 <= ord(c) <= 0xDFFF for c in content):
            return "content"
        length = len(content) if self.fk_bug else len(content.strip())
        return None if self.min_chars <= length <= self.max_chars else "content"

    async def send(self, request: ChatRequest, hook: PointHook | None = None) -> ChatResponse:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)
            field = self._invalid_field(request)
            if field is not None:
                self.bad_requests += 1
                return ChatResponse(status=422, invalid_fields=(field,))
            if self.fk_bug and request.session not in self.messages:
                return ChatResponse(status=500, error_code="23503", detail="FK violation")
            stored = self.messages.setdefault(request.session, [])
            stored.append(StoredMessage("user", request.content, len(stored)))
            stored.append(StoredMessage("assistant", "ok", len(stored)))
            return ChatResponse(status=201, messages=tuple(stored[-2:]))
        finally:
            self.in_flight -= 1

    async def read_back(self, session: str) -> ChatResponse:
        return ChatResponse(status=200, messages=tuple(self.messages.get(session, ())))

    async def read_state(self) -> DatabaseState:
        return DatabaseState(
            sessions=frozenset(self.messages),
            messages={k: tuple(v) for k, v in self.messages.items()},
            agent_contexts=dict.fromkeys(self.messages, 1),
        )

    async def reset(self) -> None:
        self.messages.clear()

    async def seed(self, conversations: Sequence[SeedConversation]) -> None:
        raise NotImplementedError


class SlugApp(StrictApp):
    """Draws its own randomness (as an app making random slugs does): one request in a few,
    chosen by the operating system's random source, loses the existing session's message."""

    def __init__(self) -> None:
        super().__init__(min_chars=1, max_chars=10_000)
        self.dice = random.SystemRandom()

    async def send(self, request: ChatRequest, hook: PointHook | None = None) -> ChatResponse:
        existing = request.session in self.messages
        response = await super().send(request, hook)
        if existing and response.ok and self.dice.random() < 0.3:
            self.messages[request.session] = self.messages[request.session][:-2]
        return response


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        yield runner


def _settings(max_examples: int = 30) -> settings:
    return stateful_settings("quick", database=None, max_examples=max_examples)


def _machine(app: StrictApp, runner: asyncio.Runner, options: SearchOptions) -> type:
    return machine_for_target(app, runner, name=f"Options_{uuid.uuid4().hex}", options=options)


def test_the_bad_input_and_concurrency_rules_run_by_default(runner) -> None:
    app = StrictApp(min_chars=1, max_chars=10_000)
    result = search(_machine(app, runner, SearchOptions()), _settings())
    assert result.findings == (), result.summary()
    assert app.bad_requests > 0
    assert app.most_in_flight > 1


def test_an_adapter_switches_the_bad_input_and_concurrency_rules_off(runner) -> None:
    app = StrictApp(min_chars=1, max_chars=10_000)
    options = SearchOptions(bad_input=False, concurrency=False)
    result = search(_machine(app, runner, options), _settings())
    assert result.findings == (), result.summary()
    assert result.examples >= 30
    assert app.bad_requests == 0
    assert app.most_in_flight == 1


def test_content_bounds_from_below_and_above_match_the_app_s_validation(runner) -> None:
    app = StrictApp(min_chars=10, max_chars=64)
    options = SearchOptions(min_content_chars=10, max_content_chars=64)
    result = search(_machine(app, runner, options), _settings())
    assert result.findings == (), result.summary()
    assert app.bad_requests > 0, "undersized and oversized inputs were sent and refused"


def test_without_the_app_s_lower_bound_its_validation_is_what_the_search_reports(runner) -> None:
    app = StrictApp(min_chars=10, max_chars=64)
    options = SearchOptions(max_content_chars=64)
    result = search(_machine(app, runner, options), _settings())
    assert result.outcome is Outcome.ERROR, result.summary()


def test_a_database_error_in_a_bad_input_step_is_never_a_validation_finding(runner) -> None:
    app = StrictApp(min_chars=1, max_chars=10_000, fk_bug=True)
    result = search(_machine(app, runner, SearchOptions(concurrency=False)), _settings())
    assert result.findings, "the FK bug must be found"
    assert {f.outcome for f in result.findings} == {Outcome.FK_VIOLATION}, result.summary()


@pytest.mark.parametrize("content_bounds", [(0, 10), (20, 10)])
def test_impossible_content_bounds_are_refused(content_bounds: tuple[int, int]) -> None:
    low, high = content_bounds
    with pytest.raises(ValueError, match="1 <= min <= max"):
        SearchOptions(min_content_chars=low, max_content_chars=high)


def test_an_app_with_its_own_randomness_gives_findings_never_hypothesis_errors(runner) -> None:
    flaky_seen = False
    for attempt in itertools.count():
        result = search(
            _machine(SlugApp(), runner, SearchOptions(concurrency=False, bad_input=False)),
            _settings(max_examples=50),
        )
        assert result.outcome is Outcome.LOST_WRITE, result.summary()
        flaky = [f for f in result.findings if f.flaky]
        if flaky:
            flaky_seen = True
            assert FLAKY_NOTE in flaky[0].note
            assert flaky[0].steps
            assert flaky[0].reproduction
            assert "(flaky: " in result.summary()
            break
        if attempt == 20:
            break
    assert flaky_seen, "an app that loses writes at random must fail to replay at least once"


def test_flaky_strategy_definition_becomes_the_last_violation_marked_flaky() -> None:
    lost = LostWriteFound("s1 lost", steps=("1. message to s1",), rows={})
    error = FlakyStrategyDefinition("Inconsistent data generation! Data generation behaved")
    assert violations_in(error, lost) == [(lost, True)]
    assert "FlakyStrategyDefinition: Inconsistent data generation" in replay_note(error)
    assert FLAKY_NOTE in replay_note(error)


def test_a_failed_health_check_is_a_finding_not_an_exception() -> None:
    [(found, flaky)] = violations_in(FailedHealthCheck("filtering too much"))
    assert not flaky
    assert found.outcome is Outcome.ERROR
    assert "FailedHealthCheck: filtering too much" in found.message
