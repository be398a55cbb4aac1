"""Hypothesis stateful testing of any target: random request histories checked against a model.

The scenario pack checks the histories we thought of; this machine generates the ones we did
not, and shrinks a failure to the shortest history that still shows it. It drives the app only
through the adapter protocol (`scenarios.adapter.Target`), so a porting team reuses it as is:

    with open_machine(factory, "my_wiring", database) as machine:
        result = search(machine, stateful_settings())

Rules cannot be `async` (Hypothesis issue 4107), and `asyncio.run()` per rule breaks asyncpg
pools, so a machine class owns one `asyncio.Runner` and one open target (one pooled engine) for
all its examples; each example starts from `target.reset()`, which DELETEs on a separate
connection. The shared-connection rollback recipe is never used: it hides the very bug.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar

from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky
from hypothesis.reporting import with_reporter
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from scenarios.adapter import (
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
from scenarios.databases import Database, PostgresUnavailable, open_scratch_database
from scenarios.outcomes import CONFLICT_CODES, FK_CODES, LOCK_CODES, PRIORITY, Outcome, Verdict
from scenarios.runner import STEP_TIMEOUT_S, CaseResult, skipped_result

if TYPE_CHECKING:
    from hypothesis.vendor.pretty import RepresentationPrinter

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

SCENARIO_NAME = "stateful"
INTERLEAVING = "search"
GUARDS = (
    "Random request histories (Hypothesis): every acknowledged message persisted in order, "
    "nothing of a failed request persisted, every foreign key resolves, positions gapless."
)
DEFAULT_MAX_CONTENT_CHARS = 10_000

# ---------------------------------------------------------------------------------------------
# Settings profiles
# ---------------------------------------------------------------------------------------------

PROFILE_VARIABLE = "HARNESS_HYPOTHESIS_PROFILE"
DATABASE_VARIABLE = "HARNESS_HYPOTHESIS_DB"
PROFILES = ("quick", "ci")
STEP_COUNT = 10

_COMMON: dict[str, Any] = {
    "stateful_step_count": STEP_COUNT,
    # Database round trips vary with the machine; a per-example deadline would only flake.
    "deadline": None,
    "derandomize": False,
    # Each kind of failure is shrunk on its own (one exception type per outcome), so a timing-
    # dependent race cannot hide a deterministic partial commit, and both are reported.
    "report_multiple_bugs": True,
    # The explain phase replays variations only to annotate the example: time we do not spend.
    "phases": tuple(p for p in Phase if p is not Phase.explain),
}
settings.register_profile(
    "harness-quick",
    parent=settings.get_profile("default"),
    max_examples=25,
    print_blob=False,
    **_COMMON,
)
settings.register_profile(
    "harness-ci",
    parent=settings.get_profile("default"),
    max_examples=200,
    print_blob=True,
    **_COMMON,
)


def profile_name(profile: str | None = None) -> str:
    """The profile to use: the argument, else $HARNESS_HYPOTHESIS_PROFILE, else `ci` under CI."""
    name = (
        profile or os.environ.get(PROFILE_VARIABLE) or ("ci" if os.environ.get("CI") else "quick")
    )
    if name not in PROFILES:
        raise ValueError(
            f"unknown stateful profile {name!r} (from {PROFILE_VARIABLE}?); "
            f"choose one of: {', '.join(PROFILES)}"
        )
    return name


def example_database_dir(root: Path | None = None) -> Path:
    """Where failing examples are kept: $HARNESS_HYPOTHESIS_DB, else ROOT/.hypothesis/examples.

    CI caches `.hypothesis/` so a failure found in one run is replayed first in the next.
    """
    configured = os.environ.get(DATABASE_VARIABLE)
    if configured:
        return Path(configured)
    return (root or Path.cwd()) / ".hypothesis" / "examples"


def stateful_settings(
    profile: str | None = None, *, root: Path | None = None, **overrides: Any
) -> settings:
    """Settings for a stateful search, from our own profiles `harness-quick` / `harness-ci`.

    Hypothesis loads its built-in `ci` profile when CI is set (derandomized, no example
    database, too_slow suppressed). We deliberately neither shadow nor inherit it: our profiles
    start from Hypothesis's `default` and set every field that matters, because the issue asks
    for an example database CI can cache, and a random (not derandomized) search explores new
    histories on every CI run while replaying cached failures first. From the built-in we keep
    `print_blob` (a CI failure reproduces locally with `@reproduce_failure`) and no deadline.
    Other Hypothesis tests in the repo keep whatever profile they load; nothing global changes.
    """
    name = profile_name(profile)
    options: dict[str, Any] = {
        "database": DirectoryBasedExampleDatabase(str(example_database_dir(root)))
    }
    options.update(overrides)
    return settings(settings.get_profile(f"harness-{name}"), **options)


def matrix_settings(max_examples: int) -> settings:
    """A small, derandomized search: the matrix is a reproducible report, the tests explore.

    It stops at the first failure and shrinks toward the smallest of any kind (buggy wirings
    fail at once, and every replay on SQLite's two_sessions waits out a lock)."""
    return settings(
        settings.get_profile("harness-quick"),
        max_examples=max_examples,
        derandomize=True,
        database=None,
        report_multiple_bugs=False,
    )


# ---------------------------------------------------------------------------------------------
# What users send, and what the app must reject
# ---------------------------------------------------------------------------------------------

EMOJI = ("👋", "🙂", "🎉", "👍🏽", "❤️", "🇺🇦", "👨‍👩‍👧‍👦", "🧪", "🤖")
SAMPLES = (
    "Привет, как дела?",
    "你好，世界",  # noqa: RUF001 (users type full-width punctuation)
    "مرحبا بالعالم",
    "שלום",
    "e\u0301 (combining accent)",
    "naïve café",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",  # noqa: RUF001 (astral-plane letters, as pasted from "fancy text" sites)
    "line one\nline two",
    "tab\tseparated",
    "  surrounded by spaces  ",
    "'; DROP TABLE messages; --",
    "<script>alert(1)</script>",
    "\\u0000 written out, not a NUL",
    "\u200b zero-width space",
)
# Everything `str.strip()` removes: a message of only these is blank.
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
# Any Unicode scalar value except NUL: what a client can send and a database can store.
STORABLE = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")


def _fill(unit: str, length: int) -> str:
    """`unit` repeated to exactly `length` code points (how the app counts)."""
    return (unit * (length // len(unit) + 1))[:length]


def _visible(text: str) -> bool:
    return bool(text.strip())


@lru_cache
def user_texts(max_chars: int = DEFAULT_MAX_CONTENT_CHARS) -> st.SearchStrategy[str]:
    """Messages a user really sends: any storable Unicode, emoji, scripts, up to the limit."""
    everyday = st.text(STORABLE, min_size=1, max_size=80)
    mixed = st.lists(
        st.one_of(st.sampled_from(EMOJI + SAMPLES), st.text(STORABLE, min_size=1, max_size=8)),
        min_size=1,
        max_size=8,
    ).map("".join)
    long = st.builds(
        _fill,
        st.text(STORABLE, min_size=1, max_size=12),
        st.one_of(st.just(max_chars), st.integers(81, max_chars)),
    )
    return st.one_of(everyday, mixed, long).filter(_visible)


@dataclass(frozen=True)
class BadInput:
    """One input the app must refuse with a 4xx naming `field`, storing nothing."""

    kind: str
    field: str = "content"
    content: Any = None
    body: bytes | None = None
    raw_session: str | None = None

    def request(self, session: str) -> ChatRequest:
        return ChatRequest(
            session=session, content=self.content, raw_session=self.raw_session, body=self.body
        )

    def __repr__(self) -> str:
        shown = self.body if self.body is not None else self.raw_session or self.content
        return f"BadInput({self.kind}: {_show(shown)})"

    def _repr_pretty_(self, printer: RepresentationPrinter, cycle: bool) -> None:
        printer.text(repr(self))


def _not_a_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return True
    return False


def _raw_json(content: str) -> bytes:
    # json.dumps escapes a lone surrogate as \udXXX: valid JSON that decodes to invalid Unicode.
    return json.dumps({"content": content}).encode("ascii")


def _insert(text: str, at: int, what: str) -> str:
    at %= len(text) + 1
    return text[:at] + what + text[at:]


@lru_cache
def bad_inputs(max_chars: int = DEFAULT_MAX_CONTENT_CHARS) -> st.SearchStrategy[BadInput]:
    """Every kind of input the app must reject: blank, too long, NUL, lone surrogate (as a raw
    JSON body, since it cannot be encoded), wrong type, missing, invalid UTF-8, bad id."""
    short = st.text(STORABLE, max_size=20)
    return st.one_of(
        st.just(BadInput("empty", content="")),
        st.text(st.sampled_from(WHITESPACE), min_size=1, max_size=20).map(
            lambda text: BadInput("whitespace_only", content=text)
        ),
        st.builds(
            lambda unit, extra: BadInput("oversized", content=_fill(unit, max_chars + extra)),
            st.text(STORABLE, min_size=1, max_size=12),
            st.integers(1, 1_000),
        ),
        st.builds(
            lambda text, at: BadInput("nul", content=_insert(text, at, "\x00")),
            short,
            st.integers(0, 20),
        ),
        st.builds(
            lambda text, at, code: BadInput(
                "lone_surrogate", body=_raw_json(_insert(text, at, chr(code)))
            ),
            short,
            st.integers(0, 20),
            st.integers(0xD800, 0xDFFF),
        ),
        st.one_of(
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.booleans(),
            st.none(),
            st.lists(short, max_size=3),
            st.dictionaries(short, short, max_size=2),
        ).map(lambda value: BadInput("wrong_type", content=value)),
        st.just(BadInput("missing_content", body=b"{}")),
        short.map(
            lambda text: BadInput(
                "invalid_utf8",
                field="body",
                body=b'{"content": "' + text.encode("utf-8").replace(b'"', b"") + b'\xff"}',
            )
        ),
        st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=40)
        .filter(_not_a_uuid)
        .map(
            lambda raw: BadInput(
                "malformed_session_id", field="session_id", content="hello", raw_session=raw
            )
        ),
    )


def _show(value: Any) -> str:
    if isinstance(value, str | bytes) and len(value) > 40:
        return f"{value[:30]!r}… ({len(value)} {'chars' if isinstance(value, str) else 'bytes'})"
    return repr(value)


# ---------------------------------------------------------------------------------------------
# Failures the machine reports, one exception type per outcome so Hypothesis keeps them apart
# ---------------------------------------------------------------------------------------------


class StatefulViolation(AssertionError):
    """A request history broke the model; `steps` is that history, as run."""

    outcome: ClassVar[Outcome] = Outcome.ERROR

    def __init__(self, message: str, *, steps: Sequence[str], rows: dict[str, Any]) -> None:
        super().__init__(f"{self.outcome.value}: {message}")
        self.message = message
        self.steps = tuple(steps)
        self.rows = rows


class FkViolationFound(StatefulViolation):
    outcome = Outcome.FK_VIOLATION


class LockTimeoutFound(StatefulViolation):
    outcome = Outcome.LOCK_TIMEOUT


class LostWriteFound(StatefulViolation):
    outcome = Outcome.LOST_WRITE


class PartialCommitFound(StatefulViolation):
    outcome = Outcome.PARTIAL_COMMIT


class ErrorFound(StatefulViolation):
    outcome = Outcome.ERROR


VIOLATIONS: dict[Outcome, type[StatefulViolation]] = {
    cls.outcome: cls
    for cls in (FkViolationFound, LockTimeoutFound, LostWriteFound, PartialCommitFound, ErrorFound)
}

Finding_ = tuple[Outcome, str]


def _failure_outcome(response: ChatResponse) -> Outcome:
    """What an unexpected failure of a well-formed request shows, from its error code."""
    if response.error_code in FK_CODES:
        return Outcome.FK_VIOLATION
    if response.error_code in LOCK_CODES:
        return Outcome.LOCK_TIMEOUT
    return Outcome.ERROR


def _describe(response: ChatResponse) -> str:
    text = f"HTTP {response.status}"
    if response.error_code:
        text += f" {response.error_code}"
    if response.invalid_fields:
        text += f" naming {', '.join(response.invalid_fields)}"
    return text


# ---------------------------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatSession:
    """A chat session the app acknowledged creating: the Bundle's values."""

    key: str
    label: str

    def __repr__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Expected:
    """A message the database must hold; `content` None means any (an app's own reply)."""

    role: str
    content: str | None

    def matches(self, role: str, content: str) -> bool:
        return role == self.role and (self.content is None or content == self.content)


@dataclass
class _Stats:
    """Counted across every run of a machine class (shrinking included), for speed figures."""

    examples: int = 0
    steps: int = 0


def _texts() -> st.SearchStrategy[str]:
    return st.runner().flatmap(lambda machine: user_texts(machine.max_content_chars))


def _bad() -> st.SearchStrategy[BadInput]:
    return st.runner().flatmap(lambda machine: bad_inputs(machine.max_content_chars))


def _can(capability: str) -> Callable[[F], F]:
    """The rule runs only on a target that declares `capability`."""
    check: Callable[[F], F] = precondition(
        lambda machine: capability in machine.target.capabilities
    )
    return check


BATCH_MEMBER = st.sampled_from(("same", "new", "shared_new"))


class RequestHistory(RuleBasedStateMachine):
    """Random request histories against one open target, checked against an in-memory model.

    Build a concrete class with `machine_for_target` or `open_machine`: they set `target`,
    `runner` and the content limit, which this base leaves open.
    """

    target: ClassVar[Target]
    runner: ClassVar[asyncio.Runner]
    max_content_chars: ClassVar[int] = DEFAULT_MAX_CONTENT_CHARS
    stats: ClassVar[_Stats]

    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        self.stats.examples += 1
        self._await(self.target.reset())
        # key -> the messages that must be committed, in order.
        self.model: dict[str, list[Expected]] = {}
        # key -> acknowledged (user, reply) pairs of a batch whose commit order is not known yet.
        self.unordered: dict[str, list[tuple[Expected, Expected]]] = {}
        # key -> contents of requests that failed there (None: the content was not text).
        self.failed: dict[str, list[Any]] = {}
        self.labels: dict[str, str] = {}
        self.steps: list[str] = []
        self.unchecked = False
        self.last_state: DatabaseState | None = None

    # -- plumbing --------------------------------------------------------------------------

    def _await(self, awaitable: Awaitable[T]) -> T:
        async def bounded() -> T:
            return await asyncio.wait_for(awaitable, STEP_TIMEOUT_S)

        try:
            return self.runner.run(bounded())
        except TimeoutError:
            self._fail([(Outcome.ERROR, f"the target did not answer within {STEP_TIMEOUT_S}s")])

    def _new_key(self) -> str:
        key = str(uuid.uuid4())
        self.labels[key] = f"s{len(self.labels) + 1}"
        return key

    def _send(self, request: ChatRequest, hook: PointHook | None = None) -> ChatResponse:
        self.unchecked = True
        return self._await(self.target.send(request, hook))

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

    def _fail(self, findings: Sequence[Finding_]) -> NoReturn:
        outcome = next(o for o in (*PRIORITY, Outcome.ERROR) if any(f is o for f, _ in findings))
        if self.last_state is None or self.unchecked:
            try:
                self.last_state = self.runner.run(
                    asyncio.wait_for(self.target.read_state(), STEP_TIMEOUT_S)
                )
            except Exception:  # the rows are context for the report, not the finding
                self.last_state = None
        rows = self._labelled(self.last_state) if self.last_state else {}
        message = "; ".join(text for _, text in findings)
        raise VIOLATIONS[outcome](message, steps=self.steps, rows=rows)

    def _acknowledge(self, key: str, content: str, response: ChatResponse) -> tuple[Expected, ...]:
        replies = [m.content for m in response.messages if m.role == "assistant"]
        return (Expected("user", content), Expected("assistant", replies[0] if replies else None))

    def _expect_success(self, response: ChatResponse, what: str) -> None:
        if response.ok:
            return
        self._fail(
            [
                (
                    _failure_outcome(response),
                    f"{what} failed: {_describe(response)} {response.detail}".strip(),
                )
            ]
        )

    # -- rules ----------------------------------------------------------------------------

    @rule(target=sessions, content=_texts())
    def new_session(self, content: str) -> ChatSession:
        key = self._new_key()
        response = self._send(ChatRequest(key, content))
        self._step(
            f"message to a new chat session {self.labels[key]}: {_show(content)} "
            f"-> {_describe(response)}"
        )
        self._expect_success(response, "a message to a new chat session")
        self.model[key] = list(self._acknowledge(key, content, response))
        return ChatSession(key, self.labels[key])

    @rule(session=sessions, content=_texts())
    def message_to_existing(self, session: ChatSession, content: str) -> None:
        response = self._send(ChatRequest(session.key, content))
        self._step(f"message to {session.label}: {_show(content)} -> {_describe(response)}")
        self._expect_success(response, f"a message to {session.label}")
        self.model[session.key] += self._acknowledge(session.key, content, response)

    def _with_fault(self, key: str, point: str, content: str, where: str) -> None:
        async def hook(reached: str) -> bool:
            return reached == point

        response = self._send(ChatRequest(key, content), hook)
        self._step(
            f"message to {where} with a fault at {point}: {_show(content)} -> {_describe(response)}"
        )
        if response.ok:
            self._fail([(Outcome.ERROR, f"succeeded although a fault was injected at {point}")])
        if response.error_code != INJECTED_FAULT_CODE:
            self._fail(
                [
                    (
                        _failure_outcome(response),
                        f"failed before the fault at {point}: "
                        f"{_describe(response)} {response.detail}".strip(),
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

    @rule(bad=_bad())
    def bad_input(self, bad: BadInput) -> None:
        key = self._new_key()
        response = self._send(bad.request(key))
        self._step(
            f"bad input to a new chat session {self.labels[key]}: {bad!r} -> {_describe(response)}"
        )
        self.failed.setdefault(key, []).append(bad.content)
        if not 400 <= response.status < 500:
            self._fail(
                [
                    (
                        Outcome.ERROR,
                        f"{bad.kind} input: expected a 4xx naming "
                        f"{bad.field!r}, got {_describe(response)}",
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
                        self.target.send(ChatRequest(k, c))
                        for k, (_, c) in zip(keys, members, strict=True)
                    )
                )
            )

        self.unchecked = True
        responses = self._await(send_all())
        shown = ", ".join(
            f"{self.labels[k]}{'' if k in self.model else ' (new)'} {_show(c)} -> {_describe(r)}"
            for k, (_, c), r in zip(keys, members, responses, strict=True)
        )
        self._step(f"concurrent batch: [{shown}]")
        findings: list[Finding_] = []
        for key, (_, content), response in zip(keys, members, responses, strict=True):
            if response.ok:
                pair = self._acknowledge(key, content, response)
                self.unordered.setdefault(key, []).append((pair[0], pair[1]))
            elif response.error_code in LOCK_CODES | CONFLICT_CODES:
                self.failed.setdefault(key, []).append(content)
            else:
                findings.append(
                    (
                        _failure_outcome(response),
                        f"{self.labels[key]}: {_describe(response)} {response.detail}".strip(),
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
        """Read through a fresh connection after every step that sent something."""
        if not self.unchecked:
            return
        self.unchecked = False
        self.last_state = state = self._await(self.target.read_state())
        self._order_batches(state)
        findings = self._compare(state)
        if findings:
            self._fail(findings)

    def _order_batches(self, state: DatabaseState) -> None:
        """Concurrent requests commit in an order only the database knows: adopt it where each
        acknowledged pair sits together, and the send order otherwise (then the check fails)."""
        for key, pairs in self.unordered.items():
            expected = self.model.setdefault(key, [])
            stored = state.messages.get(key, ())
            at = len(expected)
            remaining = list(pairs)
            while remaining and at + 1 < len(stored):
                user, reply = stored[at], stored[at + 1]
                match = next(
                    (
                        p
                        for p in remaining
                        if p[0].matches(user.role, user.content)
                        and p[1].matches(reply.role, reply.content)
                    ),
                    None,
                )
                if match is None:
                    break
                remaining.remove(match)
                expected += match
                at += 2
            for pair in remaining:
                expected += pair
        self.unordered.clear()

    def _compare(self, state: DatabaseState) -> list[Finding_]:
        findings: list[Finding_] = []

        def name(key: str) -> str:
            return self.labels.get(key, "a chat session the history never named")

        def leftover(key: str, what: str) -> Finding_:
            if key in self.failed:
                return (
                    Outcome.PARTIAL_COMMIT,
                    f"{name(key)}: {what} of a failed request committed",
                )
            return (Outcome.ERROR, f"{name(key)}: {what} that no request of the history wrote")

        for key, expected in self.model.items():
            if key not in state.sessions:
                findings.append(
                    (
                        Outcome.LOST_WRITE,
                        f"{name(key)}: acknowledged, but its chat "
                        "session row is not in the database",
                    )
                )
            contexts = state.agent_contexts.get(key, 0)
            if contexts == 0:
                findings.append(
                    (
                        Outcome.LOST_WRITE,
                        f"{name(key)}: acknowledged, but no agent context is in the database",
                    )
                )
            elif contexts > 1:
                findings.append((Outcome.ERROR, f"{name(key)}: {contexts} agent contexts"))
            findings += self._compare_messages(key, expected, state, leftover)
        for key in sorted(state.sessions - self.model.keys()):
            findings.append(leftover(key, "a chat session row"))
        for key in sorted(state.agent_contexts.keys() - self.model.keys()):
            findings.append(leftover(key, "an agent context"))
        for key in sorted(state.messages.keys() - self.model.keys()):
            findings.append(leftover(key, f"{len(state.messages[key])} message(s)"))
        for description in state.dangling:
            findings.append((Outcome.ERROR, f"foreign key does not resolve: {description}"))
        return findings

    def _compare_messages(
        self, key: str, expected: list[Expected], state: DatabaseState, leftover: Any
    ) -> list[Finding_]:
        label = self.labels.get(key, key)
        stored = state.messages.get(key, ())
        findings: list[Finding_] = []
        positions = [m.position for m in stored]
        if positions != list(range(len(positions))):
            findings.append((Outcome.ERROR, f"{label}: positions are {positions}, not gapless"))
        unmatched = list(stored)
        for index, wanted in enumerate(expected):
            found = next((m for m in unmatched if wanted.matches(m.role, m.content)), None)
            if found is None:
                what = _show(wanted.content) if wanted.content is not None else "(reply)"
                findings.append(
                    (
                        Outcome.LOST_WRITE,
                        f"{label}: acknowledged {wanted.role} "
                        f"message {index} {what} is not in the database",
                    )
                )
            else:
                unmatched.remove(found)
        for extra in unmatched:
            findings.append(leftover(key, f"{extra.role} message {_show(extra.content)}"))
        if not findings and not all(
            w.matches(m.role, m.content) for w, m in zip(expected, stored, strict=True)
        ):
            order = [f"{m.role}: {_show(m.content)}" for m in stored]
            findings.append(
                (
                    Outcome.ERROR,
                    f"{label}: every message is there, but not in the "
                    f"order they were acknowledged: {order}",
                )
            )
        return findings


def machine_for_target(
    target: Target,
    runner: asyncio.Runner,
    *,
    name: str = "RequestHistory",
    max_content_chars: int = DEFAULT_MAX_CONTENT_CHARS,
) -> type[RequestHistory]:
    """A machine class over an already-open target, run on `runner` (which the caller owns).

    `name` keys Hypothesis's example database: give each wiring and database its own.
    """
    namespace = {
        "target": target,
        "runner": runner,
        "max_content_chars": max_content_chars,
        "stats": _Stats(),
    }
    return type(name, (RequestHistory,), namespace)


@contextmanager
def open_machine(
    factory: TargetFactory,
    wiring: str,
    database: Database,
    *,
    max_content_chars: int = DEFAULT_MAX_CONTENT_CHARS,
) -> Iterator[type[RequestHistory]]:
    """One runner and one open target for every example of a search, closed at the end.

    Must be entered where no event loop is running (a plain test, or a worker thread).
    """
    # A loop factory keeps the runner from replacing the thread's current event loop (pytest-
    # asyncio's session loop, say) and unsetting it on close.
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        stack = AsyncExitStack()
        target = runner.run(stack.enter_async_context(factory.open(wiring, database)))
        try:
            yield machine_for_target(
                target,
                runner,
                name=f"RequestHistory_{factory.name}_{wiring}_{database.kind}",
                max_content_chars=max_content_chars,
            )
        finally:
            runner.run(stack.aclose())


# ---------------------------------------------------------------------------------------------
# Running a search and reporting what it found
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One distinct failure, as Hypothesis shrank it."""

    outcome: Outcome
    message: str
    steps: tuple[str, ...]
    rows: dict[str, Any]
    reproduction: str  # Hypothesis's own falsifying example, runnable
    flaky: bool = False


@dataclass(frozen=True)
class SearchResult:
    machine: str
    findings: tuple[Finding, ...]
    examples: int  # machine runs, shrinking included
    duration_s: float
    settings: str

    @property
    def primary(self) -> Finding | None:
        """The finding that names the outcome, ranked as the classifier ranks outcomes."""
        for outcome in PRIORITY:
            for finding in self.findings:
                if finding.outcome is outcome:
                    return finding
        return None

    @property
    def outcome(self) -> Outcome:
        primary = self.primary
        return primary.outcome if primary else Outcome.OK

    def finding(self, outcome: Outcome) -> Finding | None:
        return next((f for f in self.findings if f.outcome is outcome), None)

    def summary(self) -> str:
        """One line: the shrunk example of each finding, or that none was found."""
        if not self.findings:
            return f"no counterexample in {self.examples} examples ({self.settings})"
        parts = []
        for finding in sorted(self.findings, key=lambda f: PRIORITY.index(f.outcome)):
            steps = " | ".join(finding.steps)
            flaky = " (flaky)" if finding.flaky else ""
            parts.append(
                f"{finding.outcome.value}{flaky} in {len(finding.steps)} step(s): {steps} "
                f"=> {finding.message}"
            )
        return " || ".join(parts)


def _leaves(error: BaseException, flaky: bool = False) -> Iterator[tuple[BaseException, bool]]:
    """Every exception inside `error`, and whether a Flaky group (a failed replay) held it."""
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner, flaky or isinstance(error, Flaky))
    else:
        yield error, flaky


def _violations(error: BaseException) -> list[tuple[StatefulViolation, bool]]:
    """The model violations in `error`; re-raises it if it holds anything else.

    A violation that real concurrency produced may not replay (Hypothesis raises Flaky, with
    its own replay error beside it): that violation is kept, marked flaky; the replay error is
    Hypothesis's note about it, not a second problem.
    """
    leaves = list(_leaves(error))
    violations = [(v, f) for v, f in leaves if isinstance(v, StatefulViolation)]
    others = [
        v
        for v, f in leaves
        if not isinstance(v, StatefulViolation) and not (f and isinstance(v, Flaky))
    ]
    if not violations or others:
        raise error
    return violations


# How many more Hypothesis runs a search makes after one that ended on a failure that did not
# replay (a race): Hypothesis stops at such a failure, which must not hide a deterministic one.
FLAKY_RERUNS = 2


def _run_once(machine: type[RequestHistory], settings: settings) -> list[Finding]:
    try:
        # The falsifying example also lands in the exception's notes; keep stdout quiet.
        with with_reporter(lambda _text: None):
            run_state_machine_as_test(machine, settings=settings)
    except BaseException as error:
        return [
            Finding(
                outcome=violation.outcome,
                message=violation.message,
                steps=violation.steps,
                rows=violation.rows,
                reproduction="\n".join(getattr(violation, "__notes__", ())),
                flaky=flaky,
            )
            for violation, flaky in _violations(error)
        ]
    return []


def search(
    machine: type[RequestHistory], settings: settings, *, flaky_reruns: int = FLAKY_RERUNS
) -> SearchResult:
    """Run Hypothesis on `machine`; return what it found instead of raising it.

    Real concurrency can fail in a way that does not replay; Hypothesis then stops with Flaky.
    Such a finding is kept (marked flaky) and the search runs again, up to `flaky_reruns`
    times, until it ends without one. Anything that is not a model violation (a broken
    adapter, a health check) is re-raised.
    """
    started = time.perf_counter()
    before = machine.stats.examples
    findings: list[Finding] = []
    for _ in range(1 + flaky_reruns):
        found = _run_once(machine, settings)
        findings += found
        if not found or not all(f.flaky for f in found):
            break
    return SearchResult(
        machine=machine.__name__,
        findings=tuple(findings),
        examples=machine.stats.examples - before,
        duration_s=time.perf_counter() - started,
        settings=(
            f"max_examples={settings.max_examples}, "
            f"stateful_step_count={settings.stateful_step_count}, "
            f"derandomize={settings.derandomize}"
        ),
    )


def report_path(folder: Path, wiring: str, db: str) -> Path:
    return folder / f"stateful-{wiring}-{db}.md"


def markdown_report(
    result: SearchResult, *, target: str, wiring: str, db: str, expected: str | None = None
) -> str:
    """A page a person reads: what was searched, what was found, shrunk, and how to replay it."""
    outcome = result.outcome.value
    lines = [
        f"# Stateful search: `{wiring}` on {db}",
        "",
        f"Target `{target}`. Hypothesis ran {result.examples} request histories "
        f"({result.settings}) in {result.duration_s:.1f} s.",
        "",
        f"Outcome: **{outcome}**" + (f" (expected `{expected}`)" if expected is not None else ""),
        "",
        f"What is checked after every step: {GUARDS}",
        "",
    ]
    if not result.findings:
        lines += ["No counterexample: every history kept the model.", ""]
    ranked = sorted(result.findings, key=lambda f: PRIORITY.index(f.outcome))
    for number, finding in enumerate(ranked, 1):
        steps = len(finding.steps)
        lines += [
            f"## Finding {number}: {finding.outcome.value}, shrunk to {steps} "
            f"step{'s' if steps != 1 else ''}" + (" (flaky)" if finding.flaky else ""),
            "",
            f"{finding.message}",
            "",
            "The shortest request history Hypothesis found:",
            "",
            *finding.steps,
            "",
            "Rows a fresh connection found at that point:",
            "",
            "```json",
            json.dumps(finding.rows, ensure_ascii=False, indent=2),
            "```",
            "",
            "Hypothesis's falsifying example:",
            "",
            "```python",
            finding.reproduction,
            "```",
            "",
        ]
    return "\n".join(lines)


def write_report(
    result: SearchResult,
    folder: Path,
    *,
    target: str,
    wiring: str,
    db: str,
    expected: str | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = report_path(folder, wiring, db)
    text = markdown_report(result, target=target, wiring=wiring, db=db, expected=expected)
    path.write_text(_redact(text), encoding="utf-8")
    return path


def _redact(text: str) -> str:
    from scenarios.report import redact  # report imports matrix; import late to avoid a cycle

    return redact(text)


# ---------------------------------------------------------------------------------------------
# The matrix's stateful case
# ---------------------------------------------------------------------------------------------


_ONE_SEARCH_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class StatefulSearch:
    """The optional stateful case of each matrix cell: scenario `stateful`, its observed outcome
    the falsifying step's, its detail the shrunk example. Small, so the matrix stays quick."""

    max_examples: int = 10
    reports: Path | None = None
    settings_: settings | None = field(default=None, compare=False)

    def _settings(self) -> settings:
        return self.settings_ or matrix_settings(self.max_examples)

    async def run_cells(
        self, factory: TargetFactory, wirings: Sequence[str], kind: str
    ) -> list[CaseResult]:
        """One case per wiring, on a scratch database of `kind` that nothing else uses."""
        try:
            async with open_scratch_database(kind) as database:
                return [await self.run_cell(factory, wiring, database) for wiring in wirings]
        except PostgresUnavailable as unavailable:
            return [self.skipped(wiring, kind, f"skipped: {unavailable}") for wiring in wirings]

    async def run_cell(self, factory: TargetFactory, wiring: str, database: Database) -> CaseResult:
        """Runs in a worker thread: Hypothesis is synchronous and brings its own event loop."""
        return await asyncio.to_thread(self._run_cell_alone, factory, wiring, database)

    def _run_cell_alone(
        self, factory: TargetFactory, wiring: str, database: Database
    ) -> CaseResult:
        # One search at a time: two Hypothesis runs in parallel threads crash CPython 3.11's
        # AST compiler ("AST constructor recursion depth mismatch"), seen in CI.
        with _ONE_SEARCH_AT_A_TIME:
            return self._run_cell(factory, wiring, database)

    def _run_cell(self, factory: TargetFactory, wiring: str, database: Database) -> CaseResult:
        expected = factory.expected_outcome(SCENARIO_NAME, INTERLEAVING, wiring, database.kind)
        started = time.perf_counter()
        try:
            with open_machine(factory, wiring, database) as machine:
                result = search(machine, self._settings())
        except Exception as error:
            return self._case(
                wiring,
                database.kind,
                expected,
                Outcome.ERROR.value,
                f"the stateful search could not run: {type(error).__name__}: {error}",
                time.perf_counter() - started,
            )
        if self.reports is not None:
            write_report(
                result,
                self.reports,
                target=factory.name,
                wiring=wiring,
                db=database.kind,
                expected=expected,
            )
        primary = result.primary
        return self._case(
            wiring,
            database.kind,
            expected,
            result.outcome.value,
            result.summary(),
            result.duration_s,
            steps=primary.steps if primary else (),
            rows=primary.rows if primary else {},
            responses=tuple(f"{f.outcome.value}: {f.message}" for f in result.findings),
        )

    def skipped(self, wiring: str, db: str, reason: str) -> CaseResult:
        return skipped_result(SCENARIO_NAME, INTERLEAVING, wiring, db, reason, guards=GUARDS)

    @staticmethod
    def _case(
        wiring: str,
        db: str,
        expected: str,
        observed: str,
        detail: str,
        duration_s: float,
        *,
        steps: tuple[str, ...] = (),
        rows: dict[str, Any] | None = None,
        responses: tuple[str, ...] = (),
    ) -> CaseResult:
        return CaseResult(
            scenario=SCENARIO_NAME,
            interleaving=INTERLEAVING,
            wiring=wiring,
            db=db,
            expected=expected,
            observed=observed,
            verdict=Verdict.AS_EXPECTED if observed == expected else Verdict.UNEXPECTED,
            detail=detail,
            duration_s=duration_s,
            guards=GUARDS,
            steps=steps,
            responses=responses,
            rows=rows or {},
        )


__all__ = [
    "PROFILES",
    "PROFILE_VARIABLE",
    "BadInput",
    "ChatSession",
    "Finding",
    "RequestHistory",
    "SearchResult",
    "StatefulSearch",
    "StatefulViolation",
    "bad_inputs",
    "machine_for_target",
    "matrix_settings",
    "open_machine",
    "search",
    "stateful_settings",
    "user_texts",
    "write_report",
]
