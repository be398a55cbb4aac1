"""The state machine: rules that send requests through the adapter, and an invariant that checks
the database after every step against the model of what must be stored (scenarios.stateful.model,
which needs no Hypothesis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, ClassVar, NoReturn, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from scenarios.adapter import (
    AFTER_RESPONSE,
    INJECTED_FAULT_CODE,
    POINTS,
    Capability,
    ChatRequest,
    ChatResponse,
    DatabaseState,
    PointHook,
    Target,
    TargetFactory,
)
from scenarios.databases import Database
from scenarios.outcomes import (
    ACKNOWLEDGED_BEFORE_COMMIT,
    CONFLICT_CODES,
    LOCK_CODES,
    PRIORITY,
    Evidence,
    Outcome,
    describe,
)
from scenarios.runner import CASE_TIMEOUT_S, STEP_TIMEOUT_S
from scenarios.stateful.leaks import OpenTarget, guarded_send, held_message
from scenarios.stateful.model import Expected, ModelCheck
from scenarios.stateful.options import DEFAULT_OPTIONS, SearchOptions, options_of
from scenarios.stateful.strategies import (
    InputToRefuse,
    abridged,
    bad_inputs,
    user_texts,
)
from scenarios.stateful.violations import (
    VIOLATIONS,
    StatefulViolation,
    failure_outcome,
)

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ChatSession:
    """A chat session the app acknowledged creating: the Bundle's values."""

    key: str
    label: str

    def __repr__(self) -> str:
        return self.label


@dataclass
class _Stats:
    """Counted across every run of a machine class (shrinking included), for speed figures."""

    examples: int = 0
    steps: int = 0
    after_response: int = 0  # steps that read, and maybe failed, after the response
    taken_back: int = 0  # times the target was reopened after an example left connections open
    # The last violation raised: what a replay that Hypothesis could not repeat had found.
    last_violation: StatefulViolation | None = None


def _texts() -> st.SearchStrategy[str]:
    return st.runner().flatmap(
        lambda machine: user_texts(
            machine.options.max_content_chars, machine.options.min_content_chars
        )
    )


def _bad() -> st.SearchStrategy[InputToRefuse]:
    return st.runner().flatmap(
        lambda machine: bad_inputs(
            machine.options.max_content_chars, machine.options.min_content_chars
        )
    )


def _can(capability: str) -> Callable[[F], F]:
    """The rule runs only on a target that declares `capability`."""
    check: Callable[[F], F] = precondition(
        lambda machine: capability in machine.target.capabilities
    )
    return check


BATCH_MEMBER = st.sampled_from(("same", "new", "shared_new"))


class RequestHistory(RuleBasedStateMachine, ModelCheck):
    """Random request histories against one open target, checked against an in-memory model.

    Build a concrete class with `machine_for_target` or `open_machine`: they set `target`,
    `runner` and the content limit, which this base leaves open.
    """

    target: ClassVar[Target]
    runner: ClassVar[asyncio.Runner]
    # Set by `open_machine`: the janitor that finds connections left open, and takes them back.
    keeper: ClassVar[OpenTarget | None] = None
    options: ClassVar[SearchOptions] = DEFAULT_OPTIONS
    stats: ClassVar[_Stats]

    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        self.stats.examples += 1
        self._await(self.target.reset())
        ModelCheck.__init__(self)
        self.steps: list[str] = []
        self.unchecked = False
        self.last_state: DatabaseState | None = None
        # What the session guard said of connections the requests did not return, until checked.
        self.not_returned: list[str] = []
        self.leaked = False  # this example left connections behind: take them back at teardown

    def teardown(self) -> None:
        """Before the next example resets the database: take back what this one left open."""
        keeper = self.keeper
        if keeper is None:
            return
        if self.leaked or self._bounded(keeper.held()):
            type(self).target = self._bounded(keeper.take_back(), CASE_TIMEOUT_S)
            self.stats.taken_back += 1

    # -- plumbing --------------------------------------------------------------------------

    def _bounded(self, awaitable: Awaitable[T], timeout_s: float = STEP_TIMEOUT_S) -> T:
        # The value comes back in a box, not as the task's result: in the main thread, each
        # `Runner.run` formats its finished task, result included, while restoring the SIGINT
        # handler (CPython's signal module builds an error message with the handler's repr), and
        # a DatabaseState's repr costs more than reading it. One task, not wait_for's two.
        box: list[T] = []

        async def bounded() -> None:
            async with asyncio.timeout(timeout_s):
                box.append(await awaitable)

        self.runner.run(bounded())
        return box[0]

    def _await(self, awaitable: Awaitable[T]) -> T:
        try:
            return self._bounded(awaitable)
        except TimeoutError:
            self.leaked = True  # whatever hung may hold connections: take them back
            self._fail([(Outcome.ERROR, f"the target did not answer within {STEP_TIMEOUT_S}s")])

    def _new_key(self) -> str:
        key = str(uuid.uuid4())
        self.labels[key] = f"s{len(self.labels) + 1}"
        return key

    def _send(self, request: ChatRequest, hook: PointHook | None = None) -> ChatResponse:
        self.unchecked = True
        return self._await(guarded_send(self.target.send(request, hook), self.not_returned))

    def _leaks(self) -> list[Evidence]:
        """Connections the steps since the last check left out: where the guard saw each taken,
        and how many still hold a transaction, as the database itself says."""
        found: list[Evidence] = [
            (Outcome.LEAKED_CONNECTION, message) for message in dict.fromkeys(self.not_returned)
        ]
        self.not_returned.clear()
        held = self._bounded(self.keeper.held()) if self.keeper is not None else 0
        if held:
            found.append((Outcome.LEAKED_CONNECTION, held_message(held)))
        if found:
            self.leaked = True
        return found

    def _step(self, text: str) -> None:
        self.stats.steps += 1
        self.steps.append(f"{len(self.steps) + 1}. {text}")

    def _labelled(self, state: DatabaseState) -> dict[str, Any]:
        rows = state.as_dict()

        def name(key: str) -> str:
            return self.labels.get(key, key)

        rows["sessions"] = sorted(name(k) for k in state.sessions)
        rows["messages"] = {name(k): v for k, v in rows["messages"].items()}
        rows["agent_contexts"] = {name(k): v for k, v in rows["agent_contexts"].items()}
        return rows

    def _fail(self, findings: Sequence[Evidence]) -> NoReturn:
        if not any(found is Outcome.LEAKED_CONNECTION for found, _ in findings):
            try:  # a leak outranks what it caused (a lock, a missing row), as in the runner
                findings = [*self._leaks(), *findings]
            except Exception:  # noqa: BLE001 - the janitor is context here; teardown asks it again
                self.leaked = True
        outcome = next(o for o in (*PRIORITY, Outcome.ERROR) if any(f is o for f, _ in findings))
        if self.last_state is None or self.unchecked:
            try:
                self.last_state = self.runner.run(
                    asyncio.wait_for(self.target.read_state(), STEP_TIMEOUT_S)
                )
            except Exception:  # noqa: BLE001 - the rows are context for the report, not the finding
                self.last_state = None
        rows = self._labelled(self.last_state) if self.last_state else {}
        message = "; ".join(text for _, text in findings)
        violation = VIOLATIONS[outcome](message, steps=self.steps, rows=rows)
        self.stats.last_violation = violation
        raise violation

    def _acknowledge(self, key: str, content: str, response: ChatResponse) -> tuple[Expected, ...]:
        replies = [m.content for m in response.messages if m.role == "assistant"]
        return (Expected("user", content), Expected("assistant", replies[0] if replies else None))

    def _expect_success(self, response: ChatResponse, what: str) -> None:
        if response.ok:
            return
        self._fail(
            [
                (
                    failure_outcome(response),
                    f"{what} failed: {describe(response)} {response.detail}".strip(),
                )
            ]
        )

    # -- rules ----------------------------------------------------------------------------

    @rule(target=sessions, content=_texts())
    def new_session(self, content: str) -> ChatSession:
        key = self._new_key()
        response = self._send(ChatRequest(key, content))
        self._step(
            f"message to a new chat session {self.labels[key]}: {abridged(content)} "
            f"-> {describe(response)}"
        )
        self._expect_success(response, "a message to a new chat session")
        self.model[key] = list(self._acknowledge(key, content, response))
        return ChatSession(key, self.labels[key])

    @rule(session=sessions, content=_texts())
    def message_to_existing(self, session: ChatSession, content: str) -> None:
        response = self._send(ChatRequest(session.key, content))
        self._step(f"message to {session.label}: {abridged(content)} -> {describe(response)}")
        self._expect_success(response, f"a message to {session.label}")
        self.model[session.key] += self._acknowledge(session.key, content, response)

    def _with_fault(self, key: str, point: str, content: str, where: str) -> None:
        async def hook(reached: str) -> bool:
            return reached == point

        response = self._send(ChatRequest(key, content), hook)
        self._step(
            f"message to {where} with a fault at {point}: {abridged(content)} "
            f"-> {describe(response)}"
        )
        if response.ok:
            self._fail([(Outcome.ERROR, f"succeeded although a fault was injected at {point}")])
        if response.error_code != INJECTED_FAULT_CODE:
            self._fail(
                [
                    (
                        failure_outcome(response),
                        f"failed before the fault at {point}: "
                        f"{describe(response)} {response.detail}".strip(),
                    )
                ]
            )
        self.failed.setdefault(key, []).append(content)

    @_can(Capability.FAULT_INJECTION)
    @rule(point=st.sampled_from(POINTS), content=_texts())
    def fault_in_new_session(self, point: str, content: str) -> None:
        key = self._new_key()
        self._with_fault(key, point, content, f"a new chat session {self.labels[key]}")

    @_can(Capability.FAULT_INJECTION)
    @rule(session=sessions, point=st.sampled_from(POINTS), content=_texts())
    def fault_in_existing_session(self, session: ChatSession, point: str, content: str) -> None:
        self._with_fault(session.key, point, content, session.label)

    def _read_after_response(self, key: str, content: str, fault: bool, where: str) -> None:
        """The client has its 2xx; while the app is held after the response, a fresh connection
        must already find what the client was told was saved. With `fault`, the app then fails
        there, which must change nothing (the invariant checks after the step)."""
        seen: list[DatabaseState] = []

        async def hook(reached: str) -> bool:
            if reached != AFTER_RESPONSE:
                return False
            seen.append(await self.target.read_state())
            return fault

        response = self._send(ChatRequest(key, content), hook)
        self.stats.after_response += 1
        then = ", then a fault there" if fault else ""
        self._step(
            f"message to {where}, read at once after its response{then}: {abridged(content)} "
            f"-> {describe(response)}"
        )
        self._expect_success(response, f"a message to {where}")
        self.model.setdefault(key, []).extend(self._acknowledge(key, content, response))
        if not seen:
            self._fail(
                [
                    (
                        Outcome.ERROR,
                        f"the target declares {AFTER_RESPONSE}, "
                        "but the request never reached that point",
                    )
                ]
            )
        findings = self.compare(seen[0])
        if findings:
            self.last_state, self.unchecked = seen[0], False
            (outcome, first), *rest = findings
            late = f"; after it the app failed ({response.late_failure})"
            held = (
                f"{ACKNOWLEDGED_BEFORE_COMMIT}: read at once after the {describe(response)} "
                "response, while the app was held after it"
                + (late if response.late_failure else "")
            )
            self._fail([(outcome, f"{held}: {first}"), *rest])

    @_can(Capability.AFTER_RESPONSE)
    @rule(target=sessions, content=_texts(), fault=st.booleans())
    def new_session_read_after_response(self, content: str, fault: bool) -> ChatSession:
        key = self._new_key()
        label = self.labels[key]
        self._read_after_response(key, content, fault, f"a new chat session {label}")
        return ChatSession(key, label)

    @_can(Capability.AFTER_RESPONSE)
    @rule(session=sessions, content=_texts(), fault=st.booleans())
    def read_after_response(self, session: ChatSession, content: str, fault: bool) -> None:
        self._read_after_response(session.key, content, fault, session.label)

    @_can(Capability.REJECTS_BAD_INPUT)
    @precondition(lambda machine: machine.options.bad_input)
    @rule(bad=_bad())
    def bad_input(self, bad: InputToRefuse) -> None:
        key = self._new_key()
        response = self._send(bad.request(key))
        self._step(
            f"bad input to a new chat session {self.labels[key]}: {bad!r} -> {describe(response)}"
        )
        self.failed.setdefault(key, []).append(bad.content)
        if failure_outcome(response) is not Outcome.ERROR:
            # A database error (FK violation, lock timeout) is the persistence property's
            # finding, whichever input reached it: never reported as a validation gap.
            self._fail(
                [
                    (
                        failure_outcome(response),
                        f"{bad.kind} input failed in the database: "
                        f"{describe(response)} {response.detail}".strip(),
                    )
                ]
            )
        if not 400 <= response.status < 500:
            self._fail(
                [
                    (
                        Outcome.ERROR,
                        f"{bad.kind} input: expected a 4xx naming "
                        f"{bad.field!r}, got {describe(response)}",
                    )
                ]
            )
        if bad.field not in response.invalid_fields:
            self._fail(
                [
                    (
                        Outcome.ERROR,
                        f"{bad.kind} input: rejected, but the error names "
                        f"{list(response.invalid_fields)}, not {bad.field!r}",
                    )
                ]
            )

    @_can(Capability.CONCURRENCY)
    @precondition(lambda machine: machine.options.concurrency)
    @rule(
        session=sessions,
        members=st.lists(st.tuples(BATCH_MEMBER, _texts()), min_size=2, max_size=3),
    )
    def concurrent_batch(self, session: ChatSession, members: list[tuple[str, str]]) -> None:
        """Requests in flight at once; one may lose a race with a clear retryable code."""
        shared_new: str | None = None
        keys = []
        for where, _ in members:
            if where == "same":
                keys.append(session.key)
            elif where == "new":
                keys.append(self._new_key())
            else:
                shared_new = shared_new or self._new_key()
                keys.append(shared_new)

        async def send_all() -> list[ChatResponse]:
            return list(
                await asyncio.gather(
                    *(
                        guarded_send(self.target.send(ChatRequest(k, c)), self.not_returned)
                        for k, (_, c) in zip(keys, members, strict=True)
                    )
                )
            )

        self.unchecked = True
        responses = self._await(send_all())
        shown = ", ".join(
            f"{self.labels[k]}{'' if k in self.model else ' (new)'} {abridged(c)} -> {describe(r)}"
            for k, (_, c), r in zip(keys, members, responses, strict=True)
        )
        self._step(f"concurrent batch: [{shown}]")
        findings: list[Evidence] = []
        for key, (_, content), response in zip(keys, members, responses, strict=True):
            if response.ok:
                pair = self._acknowledge(key, content, response)
                self.unordered.setdefault(key, []).append((pair[0], pair[1]))
            elif response.error_code in LOCK_CODES | CONFLICT_CODES:
                self.failed.setdefault(key, []).append(content)
            else:
                findings.append(
                    (
                        failure_outcome(response),
                        f"{self.labels[key]}: {describe(response)} {response.detail}".strip(),
                    )
                )
        if not any(r.ok for r in responses):
            codes = sorted({r.error_code or str(r.status) for r in responses})
            lock = any(r.error_code in LOCK_CODES for r in responses)
            findings.append(
                (
                    Outcome.LOCK_TIMEOUT if lock else Outcome.ERROR,
                    f"every request of the batch failed ({', '.join(codes)}): none made progress",
                )
            )
        if findings:
            self._fail(findings)

    # -- the invariant --------------------------------------------------------------------

    @invariant()
    def database_matches_model(self) -> None:
        """After every step that sent something: no connection left holding a transaction
        or out of the pool, and the rows, read through a fresh connection, as the model says."""
        if not self.unchecked:
            return
        self.unchecked = False
        leaks = self._leaks()
        self.last_state = state = self._await(self.target.read_state())
        self.order_batches(state)
        findings = leaks + self.compare(state)
        if findings:
            self._fail(findings)


def machine_for_target(
    target: Target,
    runner: asyncio.Runner,
    *,
    name: str = "RequestHistory",
    options: SearchOptions = DEFAULT_OPTIONS,
    max_content_chars: int | None = None,
    keeper: OpenTarget | None = None,
) -> type[RequestHistory]:
    """A machine class over an already-open target, run on `runner` (which the caller owns).

    `name` keys Hypothesis's example database: give each wiring and database its own.
    `options` says which properties the adapter opted into and the content bounds;
    `max_content_chars` (older spelling) replaces the upper bound only. `keeper`, the
    target's `OpenTarget`, makes a connection left open a finding and takes it back.
    """
    if max_content_chars is not None:
        options = replace(options, max_content_chars=max_content_chars)
    namespace = {
        "target": target,
        "runner": runner,
        "options": options,
        "stats": _Stats(),
        "keeper": keeper,
    }
    return type(name, (RequestHistory,), namespace)


@contextmanager
def open_machine(
    factory: TargetFactory,
    wiring: str,
    database: Database,
    *,
    options: SearchOptions | None = None,
    max_content_chars: int | None = None,
) -> Iterator[type[RequestHistory]]:
    """One runner and one open target for every example of a search, closed at the end; an
    example that leaves connections open is a finding, and the target is reopened after it.

    `options` defaults to the factory's declared `search_options`. Must be entered where no
    event loop is running (a plain test, or a worker thread).
    """
    chosen = options if options is not None else options_of(factory)
    # A loop factory keeps the runner from replacing the thread's current event loop (pytest-
    # asyncio's session loop, say) and unsetting it on close.
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        keeper = OpenTarget(factory, wiring, database)
        try:
            target = runner.run(keeper.open())
            yield machine_for_target(
                target,
                runner,
                name=f"RequestHistory_{factory.name}_{wiring}_{database.kind}",
                options=chosen,
                max_content_chars=max_content_chars,
                keeper=keeper,
            )
        finally:
            runner.run(keeper.close())
