"""The adapter protocol: the only thing a team writes to run the pack against its own app.

A `TargetFactory` opens a `Target` for one wiring on one database. The target sends requests the
way a client would, reads the database back through a fresh connection, and declares what it
can do (its capabilities), so that scenarios needing more are skipped with that reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from scenarios.databases import Database

# The named points of the chain, in the order a request passes them.
POINTS: tuple[str, ...] = ("after_user_message", "after_agent_context", "after_reply", "at_commit")
# The point after the response was sent (a target declares it with `after_response`): a correct
# app has committed by then, so a fault here must change nothing, and a pause here lets the
# client read what it was just told was saved.
AFTER_RESPONSE = "after_response"
ALL_POINTS: tuple[str, ...] = (*POINTS, AFTER_RESPONSE)

# The error code a target reports for a request failed by an injected fault.
INJECTED_FAULT_CODE = "injected_fault"

# Returns True when the request must fail at this point (an injected fault); may also pause.
PointHook = Callable[[str], Awaitable[bool]]


class Capability:
    """Names a target may declare (the pack's `Requirements`)."""

    FAULT_INJECTION = "fault_injection"  # honours a hook's fault at every point in POINTS
    PAUSE_POINTS = "pause_points"  # awaits the hook at every point, so requests interleave
    SEED = "seed"  # writes committed history directly, bypassing the app
    READ_ROUTE = "read_route"  # a client can read a conversation back
    CONCURRENCY = "concurrency"  # several requests may be in flight at once
    # Refuses malformed input with a 4xx naming the field, storing nothing: the pack's idea of
    # validation. An app whose validation is its own leaves it out, and the bad-input scenarios
    # and the search's bad-input rule are skipped (the bug is about persistence, not this).
    REJECTS_BAD_INPUT = "rejects_bad_input"

    # awaits the hook at AFTER_RESPONSE once the client has the whole response, and honours a
    # fault and a pause there (FastAPI >= 0.118: the code after a dependency's `yield`)
    AFTER_RESPONSE = "after_response"

    # Every capability of a request that ends with its response (what most targets declare).
    ALL: frozenset[str] = frozenset(
        {FAULT_INJECTION, PAUSE_POINTS, SEED, READ_ROUTE, CONCURRENCY, REJECTS_BAD_INPUT}
    )
    KNOWN: frozenset[str] = ALL | {AFTER_RESPONSE}


@dataclass(frozen=True)
class StoredMessage:
    role: str
    content: str
    position: int


@dataclass(frozen=True)
class ChatRequest:
    """One user message. `session` is the runner's key for the chat session (a UUID string);
    `raw_session` replaces it verbatim (for malformed ids); `body` replaces the JSON body."""

    session: str
    content: Any
    raw_session: str | None = None
    body: bytes | None = None


@dataclass(frozen=True)
class ChatResponse:
    status: int
    messages: tuple[StoredMessage, ...] = ()
    error_code: str | None = None  # SQLSTATE, SQLite error name, or an app code
    invalid_fields: tuple[str, ...] = ()
    detail: str = ""
    # What the app failed with after this response had been sent (the client never hears of
    # it; a server only logs it): with a 2xx, the request was acknowledged before it finished.
    late_failure: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class DatabaseState:
    """What a fresh connection finds, keyed by the runner's chat-session keys."""

    sessions: frozenset[str]
    messages: Mapping[str, tuple[StoredMessage, ...]] = field(default_factory=dict)
    agent_contexts: Mapping[str, int] = field(default_factory=dict)
    dangling: tuple[str, ...] = ()  # rows whose foreign key does not resolve, described

    def as_dict(self) -> dict[str, Any]:
        return {
            "sessions": sorted(self.sessions),
            "messages": {
                key: [f"{m.position} {m.role}: {m.content[:60]}" for m in messages]
                for key, messages in sorted(self.messages.items())
            },
            "agent_contexts": dict(sorted(self.agent_contexts.items())),
            "dangling": list(self.dangling),
        }


@dataclass(frozen=True)
class SeedConversation:
    """Committed history to put in place before a scenario's requests (needs `seed`)."""

    session: str
    messages: tuple[tuple[str, str], ...]  # (role, content) in order
    agent_context: bool = True


@runtime_checkable
class Target(Protocol):
    """One app, one wiring, one database."""

    capabilities: frozenset[str]

    async def send(self, request: ChatRequest, hook: PointHook | None = None) -> ChatResponse:
        """Send one user message as a client would; never raise for an app-side failure."""
        ...

    async def read_back(self, session: str) -> ChatResponse:
        """Read a conversation through the app's read route (`read_route`)."""
        ...

    async def read_state(self) -> DatabaseState:
        """Read every chat session, message and agent context through a fresh connection: one
        the app never uses, in a transaction begun after the request (a new connection, or a
        pooled one of the adapter's own; never the app's session or its pool)."""
        ...

    async def reset(self) -> None:
        """Empty the tables (DELETE/TRUNCATE on a separate connection, never a rollback)."""
        ...

    async def seed(self, conversations: Sequence[SeedConversation]) -> None: ...


class TargetFactory(Protocol):
    """What `--scenario-target module:attribute` names.

    The runner opens one target at a time in a process, so `open` may re-point an app's
    module-level engine or container. A factory whose targets share nothing (an engine and app
    of their own each) may declare `isolated_targets = True`; the matrix then runs the
    databases side by side. Optional too: `search_options`, a `scenarios.stateful.SearchOptions`.
    """

    name: str
    wirings: Sequence[str]

    def open(self, wiring: str, database: Database) -> AbstractAsyncContextManager[Target]:
        """Create the schema on `database` and yield a target for `wiring`."""
        ...

    def expected_outcome(self, scenario: str, interleaving: str, wiring: str, database: str) -> str:
        """The outcome this case is expected to show; a ported app says `ok` everywhere."""
        ...
