"""Sends a case's requests in the scenario's mode: one after another, all at once, or as an
interleaving, where each request pauses at its points and a step lets one go on to the next.

Each request runs as a session-guard unit of its own; the findings go to the case that
collects them (`case_findings`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from contextvars import ContextVar

from scenarios.adapter import AFTER_RESPONSE, ChatRequest, ChatResponse, PointHook, Target
from scenarios.guard import GuardFinding
from scenarios.outcomes import RequestResult
from scenarios.scenario import Interleaving, Mode, RequestSpec, Scenario
from scenarios.timeline import RequestRecorder

# A step that neither reaches its pause point nor finishes within this is reported as a hang.
# Every database wait the harness configures is far shorter.
STEP_TIMEOUT_S = 5.0


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
case_findings: ContextVar[list[GuardFinding] | None] = ContextVar("case_findings", default=None)


async def _guarded(label: str, request: Awaitable[ChatResponse]) -> ChatResponse:
    """Run one request as a session-guard unit of its own and keep its findings for the case
    (and its events for the case's timeline).

    Work the request left running in tasks of its own (`asyncio.create_task`, not awaited) is
    part of the request, as the code after its response is: the request ends when they do
    (bounded), so what the client was told is compared with what became of that work whatever
    the timing, and their sessions are judged with the request's response. A task that
    outlives the wait is judged when it ends, if the case is still running."""
    found = case_findings.get()
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
