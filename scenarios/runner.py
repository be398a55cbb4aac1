"""Runs scenario cases against a target: seeds, sends the requests in the scenario's mode and
interleaving, reads the database back through a fresh connection, and classifies the result."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from scenarios.adapter import (
    AFTER_RESPONSE,
    ChatRequest,
    ChatResponse,
    PointHook,
    SeedConversation,
    Target,
)
from scenarios.guard import Finding, summarise
from scenarios.outcomes import Observation, Outcome, RequestResult, Verdict, classify
from scenarios.scenario import Interleaving, Mode, RequestSpec, Scenario
from scenarios.timeline import RequestRecorder, Timeline, recording

# A step that neither reaches its pause point nor finishes within this is reported as a hang.
# Every database wait the harness configures is far shorter.
STEP_TIMEOUT_S = 5.0
# The last resort around a whole case (seed, steps, read-back): a case that outlives it still
# ends with a verdict, and the run goes on.
CASE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class CaseResult:
    """One scenario x interleaving x wiring x database: what was expected and what was seen."""

    scenario: str
    interleaving: str
    wiring: str
    db: str
    expected: str
    observed: str
    verdict: Verdict
    detail: str
    duration_s: float
    guards: str = ""
    steps: tuple[str, ...] = ()
    responses: tuple[str, ...] = ()
    rows: dict[str, Any] = field(default_factory=dict)
    guard_findings: tuple[Finding, ...] = ()  # the session guard's, one unit per request
    timeline: Timeline | None = None  # for the page (reports/index.html), not in matrix.json
    server_version: str = ""  # the database server's version ("PostgreSQL 18.6"), "" if none ran

    @property
    def id(self) -> str:
        return f"{self.wiring}-{self.db}-{self.scenario}[{self.interleaving}]"

    @property
    def guard_summary(self) -> str:
        return summarise(self.guard_findings, "request")

    def as_dict(self) -> dict[str, Any]:
        return {
            "db": self.db,
            "wiring": self.wiring,
            "scenario": self.scenario,
            "interleaving": self.interleaving,
            "expected": self.expected,
            "observed": self.observed,
            "verdict": self.verdict.value,
            "detail": self.detail,
            "duration_s": round(self.duration_s, 4),
            "guards": self.guards,
            "steps": list(self.steps),
            "responses": list(self.responses),
            "rows": self.rows,
            "session_guard": self.guard_summary,
            "session_guard_findings": [f.as_dict() for f in self.guard_findings],
            "server_version": self.server_version,
        }


def skipped_result(
    scenario: str,
    interleaving: str,
    wiring: str,
    db: str,
    reason: str,
    *,
    guards: str = "",
    steps: tuple[str, ...] = (),
) -> CaseResult:
    """A case that could not run: `skipped` with the reason, never `ok`."""
    return CaseResult(
        scenario=scenario,
        interleaving=interleaving,
        wiring=wiring,
        db=db,
        expected="",
        observed="skipped",
        verdict=Verdict.SKIPPED,
        detail=reason,
        duration_s=0.0,
        guards=guards,
        steps=steps,
    )


def skipped_case(
    scenario: Scenario, interleaving: Interleaving, wiring: str, db: str, reason: str
) -> CaseResult:
    return skipped_result(
        scenario.name,
        interleaving.id,
        wiring,
        db,
        reason,
        guards=scenario.guards,
        steps=interleaving.steps,
    )


def _request_for(spec: RequestSpec, keys: dict[str, str]) -> ChatRequest:
    return ChatRequest(
        session=keys[spec.session],
        content=spec.content,
        raw_session=spec.raw_session,
        body=spec.body,
    )


def _fault_hook(spec: RequestSpec) -> PointHook:
    async def hook(point: str) -> bool:
        _passed(point)
        return point == spec.fault

    return hook


# The request being run in this context (its app code calls the hooks here).
_current_request: ContextVar[RequestRecorder | None] = ContextVar("current_request", default=None)


def _passed(point: str) -> None:
    """At the after-response point the client has its answer: the request's guard unit is told
    its response started, so a commit after it is named ("response sent before commit")."""
    if point == AFTER_RESPONSE:
        request = _current_request.get()
        if request is not None:
            request.response_started()


# The session guard's findings for the case being run (shared by its requests' tasks).
_case_findings: ContextVar[list[Finding] | None] = ContextVar("case_findings", default=None)


async def _guarded(label: str, request: Awaitable[ChatResponse]) -> ChatResponse:
    """Run one request as a session-guard unit of its own and keep its findings for the case
    (and its events for the case's timeline).

    Work the request left running in tasks of its own (`asyncio.create_task`, not awaited) is
    part of the request, as the code after its response is: the request ends when they do
    (bounded), so what the client was told is compared with what became of that work whatever
    the timing, and their sessions are judged with the request's response. A task that
    outlives the wait is judged when it ends, if the case is still running."""
    found = _case_findings.get()
    with RequestRecorder(label, on_late=found.extend if found is not None else None) as unit:
        token = _current_request.set(unit)
        try:
            response = await request
        finally:
            _current_request.reset(token)
        unit.responded(response.status, response.error_code)
        if unit.running_tasks:
            await asyncio.wait(unit.running_tasks, timeout=STEP_TIMEOUT_S)
    if found is not None:
        found.extend(unit.findings)
    return response


class _Scheduled:
    """One request of an interleaving: a task that pauses at its `pause_at` points."""

    def __init__(self, target: Target, spec: RequestSpec, keys: dict[str, str]) -> None:
        self.target = target
        self.spec = spec
        self.keys = keys
        self.arrivals: asyncio.Queue[str] = asyncio.Queue()
        self.go: asyncio.Queue[None] = asyncio.Queue()
        self.task: asyncio.Task[ChatResponse] | None = None
        self.read_back: ChatResponse | None = None
        self.held = 0  # arrivals at pause points taken by a step and not yet let go
        self.waiting = 0  # hooks awaiting `go` right now
        self.released = False  # the interleaving is over: nothing pauses any more

    async def read(self) -> None:
        """The client reads its conversation back (bounded), in a unit of its own."""
        self.read_back = await asyncio.wait_for(
            _guarded(
                f"{self.spec.name} read-back",
                self.target.read_back(self.keys[self.spec.session]),
            ),
            STEP_TIMEOUT_S,
        )

    async def hook(self, point: str) -> bool:
        _passed(point)
        if point in self.spec.pause_at and self._may_pause():
            self.arrivals.put_nowait(point)
            self.waiting += 1
            try:
                await self.go.get()
            finally:
                self.waiting -= 1
        return point == self.spec.fault

    def _may_pause(self) -> bool:
        """A point is held only while the request is in flight: one reached after it answered
        (by a task it left running) has no step left to let it go."""
        return not self.released and self.task is not None and not self.task.done()

    def release(self) -> None:
        """The interleaving is over: let every paused hook go on."""
        self.released = True
        for _ in range(self.waiting):
            self.go.put_nowait(None)

    async def advance(self, until: str | None) -> None:
        """Let the request run to its next pause point (`until`) or to its end."""
        if self.task is None:
            self.task = asyncio.create_task(
                _guarded(
                    self.spec.name,
                    self.target.send(_request_for(self.spec, self.keys), self.hook),
                )
            )
        elif self.held:  # paused at a point by the last step: let it go on
            self.held -= 1
            self.go.put_nowait(None)
        if until is None:
            await asyncio.wait_for(asyncio.shield(self.task), STEP_TIMEOUT_S)
            if self.spec.read_back and self.read_back is None:
                await self.read()
            return
        arrival = asyncio.ensure_future(self.arrivals.get())
        done, _ = await asyncio.wait(
            {arrival, self.task}, timeout=STEP_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        if not done:
            arrival.cancel()
            raise TimeoutError
        if arrival not in done:
            arrival.cancel()
            return
        self.held += 1
        if until == AFTER_RESPONSE and self.spec.read_back:
            # The client has its answer and reads at once, while the app is held after it.
            await self.read()


async def _run_interleaving(
    target: Target, scenario: Scenario, interleaving: Interleaving, keys: dict[str, str]
) -> list[RequestResult]:
    scheduled = {spec.name: _Scheduled(target, spec, keys) for spec in scenario.requests}
    try:
        for step in interleaving.steps:
            name, _, point = step.partition("@")
            try:
                await scheduled[name].advance(point or None)
            except TimeoutError:
                raise StepHung(step) from None
    finally:
        for paused in scheduled.values():
            paused.release()
        pending = [s.task for s in scheduled.values() if s.task and not s.task.done()]
        for unfinished in pending:
            unfinished.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    results = []
    for spec in scenario.requests:
        task = scheduled[spec.name].task
        assert task is not None
        assert task.done()
        results.append(
            RequestResult(spec, keys[spec.session], task.result(), scheduled[spec.name].read_back)
        )
    return results


class StepHung(Exception):
    def __init__(self, step: str) -> None:
        super().__init__(
            f"step {step!r} neither reached its pause point nor finished within {STEP_TIMEOUT_S}s"
        )


async def _send(target: Target, spec: RequestSpec, keys: dict[str, str]) -> RequestResult:
    response = await _guarded(spec.name, target.send(_request_for(spec, keys), _fault_hook(spec)))
    read_back = (
        await _guarded(f"{spec.name} read-back", target.read_back(keys[spec.session]))
        if spec.read_back
        else None
    )
    return RequestResult(spec, keys[spec.session], response, read_back)


async def run_requests(
    target: Target, scenario: Scenario, interleaving: Interleaving, keys: dict[str, str]
) -> list[RequestResult]:
    if scenario.mode is Mode.SEQUENCE:
        return [await _send(target, spec, keys) for spec in scenario.requests]
    if scenario.mode is Mode.CONCURRENT:
        return list(await asyncio.gather(*(_send(target, s, keys) for s in scenario.requests)))
    return await _run_interleaving(target, scenario, interleaving, keys)


def session_keys(scenario: Scenario) -> dict[str, str]:
    """Fresh chat-session keys for a case, so no two cases can ever share a row."""
    aliases = {seed.session for seed in scenario.seeds} | {r.session for r in scenario.requests}
    return {alias: str(uuid.uuid4()) for alias in sorted(aliases)}


async def run_case(
    target: Target,
    scenario: Scenario,
    interleaving: Interleaving,
    *,
    wiring: str,
    db: str,
    expected: str,
) -> CaseResult:
    started = time.perf_counter()
    keys = session_keys(scenario)
    await target.reset()
    if scenario.seeds:
        await target.seed(
            [
                SeedConversation(
                    session=keys[seed.session],
                    messages=tuple((m.role, m.content or "") for m in seed.messages),
                    agent_context=seed.agent_context,
                )
                for seed in scenario.seeds
            ]
        )
    responses: tuple[str, ...] = ()
    guard_findings: list[Finding] = []
    guarding = _case_findings.set(guard_findings)
    try:
        with recording() as case_recording:
            results = await run_requests(target, scenario, interleaving, keys)
    except StepHung as hung:
        state = await target.read_state()
        observation = Observation(Outcome.ERROR, ((Outcome.ERROR, str(hung)),))
    else:
        state = await target.read_state()
        observation = classify(scenario, results, state, keys)
        responses = tuple(
            f"{r.spec.name}: HTTP {r.response.status}"
            + (f" {r.response.error_code}" if r.response.error_code else "")
            for r in results
        )
    finally:
        _case_findings.reset(guarding)
    leaks = [f for f in guard_findings if f.kind.value == Outcome.LEAKED_CONNECTION.value]
    if leaks:
        observation = Observation(
            Outcome.LEAKED_CONNECTION,
            tuple((Outcome.LEAKED_CONNECTION, f.message) for f in leaks) + observation.findings,
        )
    aliases = {key: alias for alias, key in keys.items()}
    rows = state.as_dict()
    rows["sessions"] = sorted(aliases.get(k, k) for k in state.sessions)
    rows["messages"] = {aliases.get(k, k): v for k, v in rows["messages"].items()}
    rows["agent_contexts"] = {aliases.get(k, k): v for k, v in rows["agent_contexts"].items()}
    observed = observation.outcome.value
    return CaseResult(
        scenario=scenario.name,
        interleaving=interleaving.id,
        wiring=wiring,
        db=db,
        expected=expected,
        observed=observed,
        verdict=judge(observed, expected),
        detail=observation.detail,
        duration_s=time.perf_counter() - started,
        guards=scenario.guards,
        steps=interleaving.steps,
        responses=responses,
        rows=rows,
        guard_findings=tuple(guard_findings),
        timeline=None if observed == Outcome.OK.value else case_recording.timeline(),
    )


def judge(observed: str, expected: str) -> Verdict:
    return Verdict.AS_EXPECTED if observed in expected.split("|") else Verdict.UNEXPECTED


async def run_case_safely(
    target: Target,
    scenario: Scenario,
    interleaving: Interleaving,
    *,
    wiring: str,
    db: str,
    expected: str,
) -> CaseResult:
    """`run_case`, but whatever the app or the database does, the case ends with a verdict: an
    exception (a reset that finds the database locked) or the last-resort timeout is `error`."""
    started = time.perf_counter()
    try:
        return await asyncio.wait_for(
            run_case(target, scenario, interleaving, wiring=wiring, db=db, expected=expected),
            CASE_TIMEOUT_S,
        )
    except TimeoutError:
        detail = f"the case did not finish within {CASE_TIMEOUT_S}s"
    except Exception as error:
        detail = f"the case could not run: {type(error).__name__}: {error}"
    return CaseResult(
        scenario=scenario.name,
        interleaving=interleaving.id,
        wiring=wiring,
        db=db,
        expected=expected,
        observed=Outcome.ERROR.value,
        verdict=judge(Outcome.ERROR.value, expected),
        detail=detail,
        duration_s=time.perf_counter() - started,
        guards=scenario.guards,
        steps=interleaving.steps,
    )


def missing_capabilities(target: Target, scenario: Scenario) -> str | None:
    missing = sorted(scenario.requires - target.capabilities)
    if not missing:
        return None
    return f"target lacks {', '.join(missing)}"


async def run_scenarios(
    target: Target,
    scenarios: Sequence[Scenario],
    *,
    wiring: str,
    db: str,
    expected_outcome: Any,
) -> list[CaseResult]:
    """Every case of `scenarios` on one open target, in order."""
    results = []
    for scenario in scenarios:
        reason = missing_capabilities(target, scenario)
        for interleaving in scenario.interleavings():
            if reason:
                results.append(skipped_case(scenario, interleaving, wiring, db, reason))
                continue
            expected = expected_outcome(scenario.name, interleaving.id, wiring, db)
            results.append(
                await run_case_safely(
                    target, scenario, interleaving, wiring=wiring, db=db, expected=expected
                )
            )
    return results
