"""The load: N concurrent requests over M chat sessions, sent from one asyncio client through the
ASGI app, and an audit of what a fresh connection finds afterwards.

tests/reliability asserts on the audit with a small N; the benchmarks time the full N. Both use
this one module, so the load the README quotes is the load the tests check.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event, insert, text
from sqlalchemy.engine import Connection, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from reference_app.application.checkpoints import InjectedFault, checkpoint_hook
from reference_app.infrastructure.database import (
    PG_LOCK_TIMEOUT_MS,
    SQLITE_BUSY_TIMEOUT_S,
    create_engine,
)
from reference_app.infrastructure.orm import Base
from reference_app.serving import empty_tables as reference_empty_tables
from reference_app.serving import serve
from scenarios.adapter import POINTS
from scenarios.databases import Database
from scenarios.inputs import LOAD_REQUESTS_VARIABLE, LOAD_SESSIONS_VARIABLE, load_size

FULL_REQUESTS = 500
FULL_SESSIONS = 50
REQUESTS_VARIABLE = LOAD_REQUESTS_VARIABLE
SESSIONS_VARIABLE = LOAD_SESSIONS_VARIABLE

# A request still unanswered after this long is a hang: it is recorded and fails the audit.
REQUEST_CAP_S = 60.0
# Scheduling slack on top of a configured lock wait: 100 requests share one event loop on a
# busy two-core machine, so a statement's measured time exceeds the server's wait a little.
WAIT_SLACK_S = 1.0

SEEDED_USER = "seeded question"
SEEDED_REPLY = "seeded answer"

_sessions = Base.metadata.tables["sessions"]
_messages = Base.metadata.tables["messages"]
_contexts = Base.metadata.tables["agent_contexts"]


@dataclass(frozen=True)
class LoadPlan:
    """`requests` requests over `sessions` chat sessions; the first half of the chat sessions
    already have a committed exchange (the seed's "existing chat"), the rest are new. With
    `fault_every = k`, every k-th request fails at an injection point (rotating through them)."""

    requests: int = FULL_REQUESTS
    sessions: int = FULL_SESSIONS
    fault_every: int = 0

    def __post_init__(self) -> None:
        if self.requests < 1 or self.sessions < 1 or self.fault_every < 0:
            raise ValueError(f"a load needs requests >= 1 and sessions >= 1, got {self}")

    @property
    def existing_sessions(self) -> int:
        return self.sessions // 2

    def fault_for(self, index: int) -> str | None:
        k = self.fault_every
        if k == 0 or index % k != k - 1:
            return None
        return POINTS[(index // k) % len(POINTS)]

    @classmethod
    def from_environment(cls, requests: int, sessions: int, fault_every: int = 0) -> LoadPlan:
        """The given size unless HARNESS_LOAD_REQUESTS / HARNESS_LOAD_SESSIONS override it."""
        return cls(
            requests=load_size(REQUESTS_VARIABLE, requests),
            sessions=load_size(SESSIONS_VARIABLE, sessions),
            fault_every=fault_every,
        )


@dataclass(frozen=True)
class Sent:
    """One request of the load and what the client got back (status 0: no answer in time)."""

    index: int
    session_id: uuid.UUID
    content: str
    fault: str | None
    status: int
    code: str | None
    retryable: bool | None
    detail: str
    positions: tuple[int, ...]
    latency_s: float

    @property
    def acknowledged(self) -> bool:
        return self.status == 201

    @property
    def reply(self) -> str:
        return f"Echo: {self.content}"

    @property
    def clear_failure(self) -> bool:
        """A retryable 409 naming its code, a retryable 503 naming its code (a bounded wait for
        a pooled connection ran out: what an overloaded machine makes of the load, never a
        loss), or the 500 of the fault this request carried."""
        if self.status in (409, 503):
            return bool(self.code) and self.retryable is True
        return self.fault is not None and self.status == 500 and self.code == "injected_fault"

    def describe(self) -> str:
        fault = f" (fault at {self.fault})" if self.fault else ""
        code = f" {self.code}" if self.code else ""
        return f"request {self.index}{fault} -> HTTP {self.status}{code}"


@dataclass(frozen=True)
class Rows:
    """Everything a fresh connection finds, read with plain SQL (never through the app)."""

    sessions: frozenset[uuid.UUID]
    messages: tuple[tuple[uuid.UUID, str, str, int], ...]  # (session, role, content, position)
    agent_contexts: tuple[tuple[uuid.UUID, str], ...]  # (session_db_id, payload)
    orphans: tuple[str, ...]  # rows whose foreign key does not resolve

    def contents(self) -> Counter[tuple[object, ...]]:
        """Every row as a tagged tuple, for comparing two reads whatever their row order."""
        return (
            Counter(("session", s) for s in self.sessions)
            + Counter(("message", *m) for m in self.messages)
            + Counter(("agent_context", *c) for c in self.agent_contexts)
        )

    def messages_of(self, session_id: uuid.UUID) -> list[tuple[str, str, int]]:
        return sorted(
            ((r, c, p) for s, r, c, p in self.messages if s == session_id), key=lambda m: m[2]
        )


def _as_uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def read_rows(database: Database) -> Rows:
    """A brand-new connection of its own (NullPool), plain SQL."""
    engine = create_async_engine(database.url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            sessions = frozenset(
                _as_uuid(v) for v in await connection.scalars(text("SELECT id FROM sessions"))
            )
            messages = tuple(
                (_as_uuid(s), str(r), str(c), int(p))
                for s, r, c, p in await connection.execute(
                    text("SELECT session_id, role, content, position FROM messages")
                )
            )
            contexts = tuple(
                (_as_uuid(s), str(p))
                for s, p in await connection.execute(
                    text("SELECT session_db_id, payload FROM agent_contexts")
                )
            )
            orphans = tuple(
                f"messages.id={i} -> sessions.id={s}"
                for i, s in await connection.execute(
                    text(
                        "SELECT m.id, m.session_id FROM messages m "
                        "LEFT JOIN sessions s ON s.id = m.session_id WHERE s.id IS NULL"
                    )
                )
            ) + tuple(
                f"agent_contexts.id={i} -> sessions.id={s}"
                for i, s in await connection.execute(
                    text(
                        "SELECT a.id, a.session_db_id FROM agent_contexts a "
                        "LEFT JOIN sessions s ON s.id = a.session_db_id WHERE s.id IS NULL"
                    )
                )
            )
    finally:
        await engine.dispose()
    return Rows(sessions, messages, contexts, orphans)


async def empty_tables(database: Database) -> None:
    """Create the schema if needed and DELETE every row, on a connection of its own."""
    await reference_empty_tables(database.url)


async def seed_history(database: Database, session_ids: Sequence[uuid.UUID]) -> None:
    """Commit one exchange and an agent context per chat session, bypassing the app."""
    if not session_ids:
        return
    engine = create_engine(database.url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(_sessions), [{"id": s} for s in session_ids])
            await connection.execute(
                insert(_messages),
                [
                    {"session_id": s, "role": role, "content": content, "position": position}
                    for s in session_ids
                    for position, (role, content) in enumerate(
                        [("user", SEEDED_USER), ("assistant", SEEDED_REPLY)]
                    )
                ],
            )
            await connection.execute(
                insert(_contexts), [{"session_db_id": s, "payload": "{}"} for s in session_ids]
            )
    finally:
        await engine.dispose()


class StatementMeter:
    """The longest single statement (lock waits included), timed by engine events."""

    _KEY = "load_statement_started"

    def __init__(self, engine: AsyncEngine) -> None:
        self.longest_s = 0.0
        self.statements = 0
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", self._before)
        event.listen(sync_engine, "after_cursor_execute", self._after)
        event.listen(sync_engine, "handle_error", self._error)

    def _before(self, connection: Connection, *_args: Any) -> None:
        connection.info[self._KEY] = time.perf_counter()

    def _after(self, connection: Connection, *_args: Any) -> None:
        self._stop(connection)

    def _error(self, context: ExceptionContext) -> None:
        if context.connection is not None:
            self._stop(context.connection)

    def _stop(self, connection: Connection) -> None:
        started = connection.info.pop(self._KEY, None)
        if started is not None:
            self.statements += 1
            self.longest_s = max(self.longest_s, time.perf_counter() - started)


@dataclass
class Serving:
    client: httpx.AsyncClient
    engine: AsyncEngine
    meter: StatementMeter


@asynccontextmanager
async def serving(database: Database, wiring: str, **engine_kwargs: Any) -> AsyncIterator[Serving]:
    """The app on its own pooled engine (the app's bounded settings), and a client for it."""
    async with serve(database.url, wiring, **engine_kwargs) as served:
        yield Serving(served.client, served.engine, StatementMeter(served.engine))


def statement_bound_s(database: Database) -> float:
    """The longest a statement may wait on a lock, as the app configures it."""
    if database.kind == "sqlite":
        return SQLITE_BUSY_TIMEOUT_S
    return PG_LOCK_TIMEOUT_MS / 1000


async def _fail_at(point: str, reached: str) -> None:
    if reached == point:
        raise InjectedFault(reached)


async def send_one(
    client: httpx.AsyncClient,
    index: int,
    session_id: uuid.UUID,
    content: str,
    fault: str | None = None,
) -> Sent:
    """POST one message; with `fault`, this request (and no other) fails at that point."""
    token = checkpoint_hook.set(
        None if fault is None else (lambda reached: _fail_at(fault, reached))
    )
    try:
        return await _post(client, index, session_id, content, fault)
    finally:
        checkpoint_hook.reset(token)


async def _post(
    client: httpx.AsyncClient,
    index: int,
    session_id: uuid.UUID,
    content: str,
    fault: str | None,
) -> Sent:
    started = time.perf_counter()

    def failed(code: str, detail: str) -> Sent:
        return Sent(
            index=index,
            session_id=session_id,
            content=content,
            fault=fault,
            status=0 if code == "hang" else 500,
            code=code,
            retryable=None,
            detail=detail,
            positions=(),
            latency_s=time.perf_counter() - started,
        )

    try:
        async with asyncio.timeout(REQUEST_CAP_S):
            response = await client.post(
                f"/sessions/{session_id}/messages", json={"content": content}
            )
    except TimeoutError:
        return failed("hang", f"no response within {REQUEST_CAP_S:.0f} s")
    except Exception as error:  # an unhandled app error surfaces here through the transport
        return failed(f"unhandled:{type(error).__name__}", str(error))
    latency = time.perf_counter() - started
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    positions = tuple(int(m["position"]) for m in body.get("messages", []))
    return Sent(
        index=index,
        session_id=session_id,
        content=content,
        fault=fault,
        status=response.status_code,
        code=body.get("code"),
        retryable=body.get("retryable"),
        detail=str(body.get("detail", "")),
        positions=positions,
        latency_s=latency,
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


# What the audit can find; a wiring's documented failures are passed as `allowed`.
KINDS = (
    "lost",  # acknowledged, yet something it wrote is not in the database
    "partial",  # failed, yet something it wrote is committed
    "unclear",  # failed without a clear code: not a retryable 409/503, not its injected fault
    "interleaved",  # acknowledged, but another message sits between its question and reply
    "gaps",  # positions in a chat session are not unique and gapless (0..n-1)
    "duplicates",  # a message or agent context stored twice
    "orphans",  # a foreign key that does not resolve
    "unexplained",  # rows that no request and no seed wrote
    "hung",  # no answer within REQUEST_CAP_S
    "slow_statement",  # a statement waited longer than the configured bound (plus slack)
)
# Findings that are wall-clock figures: a busy machine makes them, so they are reported (counts
# and examples in the bench) but never fail a test; `violations(timings=True)` includes them.
TIMING_KINDS = frozenset({"slow_statement"})


@dataclass(frozen=True)
class Audit:
    wiring: str
    database: str
    plan: LoadPlan
    sent: tuple[Sent, ...]
    wall_s: float
    longest_statement_s: float
    statement_bound_s: float
    stored: int = 0  # requests whose user message a fresh connection finds
    findings: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def acknowledged(self) -> int:
        return sum(s.acknowledged for s in self.sent)

    @property
    def failed(self) -> int:
        return len(self.sent) - self.acknowledged

    @property
    def latencies_s(self) -> list[float]:
        return [s.latency_s for s in self.sent]

    @property
    def max_latency_s(self) -> float:
        return max(self.latencies_s, default=0.0)

    def count(self, kind: str) -> int:
        return len(self.findings.get(kind, ()))

    def failures_by_code(self) -> dict[str, int]:
        counts = Counter(f"{s.status} {s.code}" for s in self.sent if not s.acknowledged)
        return dict(sorted(counts.items()))

    def violations(self, allowed: Collection[str] = (), *, timings: bool = False) -> list[str]:
        """Every finding not in `allowed`, as `kind: description` (a few of each kind).

        Timing findings (TIMING_KINDS) count only with `timings`: tests leave them out."""
        unknown = set(allowed) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown finding kinds {sorted(unknown)}; known: {KINDS}")
        out: list[str] = []
        for kind in KINDS:
            found = self.findings.get(kind, ())
            if kind in allowed or not found or (kind in TIMING_KINDS and not timings):
                continue
            out += [f"{kind}: {item}" for item in found[:5]]
            if len(found) > 5:
                out.append(f"{kind}: ... and {len(found) - 5} more")
        return out

    def as_dict(self) -> dict[str, Any]:
        latencies = self.latencies_s
        return {
            "wiring": self.wiring,
            "db": self.database,
            "requests": self.plan.requests,
            "sessions": self.plan.sessions,
            "existing_sessions": self.plan.existing_sessions,
            "fault_every": self.plan.fault_every,
            "acknowledged": self.acknowledged,
            "failed": self.failed,
            "stored": self.stored,
            "failures_by_code": self.failures_by_code(),
            "counts": {kind: self.count(kind) for kind in KINDS},
            "examples": {k: list(v[:5]) for k, v in self.findings.items() if v},
            "wall_s": round(self.wall_s, 4),
            "latency_s": {
                "p50": round(percentile(latencies, 50), 4),
                "p95": round(percentile(latencies, 95), 4),
                "p99": round(percentile(latencies, 99), 4),
                "max": round(self.max_latency_s, 4),
            },
            "longest_statement_s": round(self.longest_statement_s, 4),
            "statement_bound_s": self.statement_bound_s,
        }


def audit(
    wiring: str,
    database: Database,
    plan: LoadPlan,
    sent: Sequence[Sent],
    seeded: Collection[uuid.UUID],
    rows: Rows,
    wall_s: float,
    longest_statement_s: float,
) -> Audit:
    """Check every promise of the load against what a fresh connection found."""
    found: dict[str, list[str]] = defaultdict(list)
    where: dict[tuple[str, str], list[tuple[uuid.UUID, int]]] = defaultdict(list)
    for session_id, role, content, position in rows.messages:
        where[role, content].append((session_id, position))
    contexts = Counter(session_id for session_id, _ in rows.agent_contexts)
    acked_sessions = {s.session_id for s in sent if s.acknowledged}
    written = {("user", s.content) for s in sent} | {("assistant", s.reply) for s in sent}
    seed_rows = {("user", SEEDED_USER), ("assistant", SEEDED_REPLY)}

    for s in sent:
        users, replies = where.get(("user", s.content), []), where.get(("assistant", s.reply), [])
        if len(users) > 1 or len(replies) > 1:
            found["duplicates"].append(f"{s.describe()}: stored {len(users)}+{len(replies)} times")
        if s.status == 0:
            found["hung"].append(s.describe())
        if s.acknowledged:
            missing = [
                what
                for what, present in (
                    ("its chat session", s.session_id in rows.sessions),
                    ("its user message", bool(users)),
                    ("its reply", bool(replies)),
                    ("the agent context", contexts[s.session_id] > 0),
                )
                if not present
            ]
            if missing:
                found["lost"].append(f"{s.describe()} but {', '.join(missing)} not stored")
                continue
            stored = (users[0][1], replies[0][1])
            if users[0][0] != s.session_id or stored != s.positions:
                found["lost"].append(
                    f"{s.describe()} at positions {s.positions}, stored at {stored}"
                )
            elif stored[1] != stored[0] + 1:
                found["interleaved"].append(
                    f"{s.describe()}: question at {stored[0]}, reply at {stored[1]}"
                )
        else:
            left = [what for what, rows_ in (("user message", users), ("reply", replies)) if rows_]
            if left:
                found["partial"].append(f"{s.describe()} yet its {' and '.join(left)} committed")
            if not s.clear_failure:
                found["unclear"].append(f"{s.describe()}: {s.detail[:120]}")

    for session_id in rows.sessions - set(seeded) - acked_sessions:
        requested = any(s.session_id == session_id for s in sent)
        kind = "partial" if requested else "unexplained"
        found[kind].append(f"chat session {session_id} committed, no request for it succeeded")
    for session_id, count in contexts.items():
        if count > 1:
            found["duplicates"].append(f"{count} agent contexts for chat session {session_id}")
        elif session_id not in set(seeded) | acked_sessions:
            found["partial"].append(f"agent context of {session_id}, no request succeeded")
    known = written | seed_rows
    for session_id, role, content, position in rows.messages:
        if (role, content) not in known:
            found["unexplained"].append(
                f"{role} message {content[:40]!r} at {position} in chat session {session_id}"
            )
    by_session: dict[uuid.UUID, list[int]] = defaultdict(list)
    for session_id, _role, _content, position in rows.messages:
        by_session[session_id].append(position)
    for session_id, positions in sorted(by_session.items()):
        if sorted(positions) != list(range(len(positions))):
            found["gaps"].append(f"chat session {session_id}: positions {sorted(positions)}")
    found["orphans"] += rows.orphans
    bound = statement_bound_s(database)
    if longest_statement_s > bound + WAIT_SLACK_S:
        found["slow_statement"].append(
            f"a statement took {longest_statement_s:.2f} s; the bound is {bound:.2f} s "
            f"(+{WAIT_SLACK_S:.1f} s scheduling slack)"
        )
    return Audit(
        wiring=wiring,
        database=database.kind,
        plan=plan,
        sent=tuple(sent),
        wall_s=wall_s,
        longest_statement_s=longest_statement_s,
        statement_bound_s=bound,
        stored=sum(bool(where.get(("user", s.content))) for s in sent),
        findings={kind: tuple(items) for kind, items in found.items() if items},
    )


async def run_load(database: Database, wiring: str, plan: LoadPlan) -> Audit:
    """Empty the tables, seed the existing chat sessions, send every request at once, audit."""
    await empty_tables(database)
    session_ids = [uuid.uuid4() for _ in range(plan.sessions)]
    seeded = session_ids[: plan.existing_sessions]
    await seed_history(database, seeded)
    async with serving(database, wiring) as app:
        started = time.perf_counter()
        sent = await asyncio.gather(
            *(
                send_one(
                    app.client,
                    i,
                    session_ids[i % plan.sessions],
                    f"load request {i} in chat {i % plan.sessions}",
                    plan.fault_for(i),
                )
                for i in range(plan.requests)
            )
        )
        wall_s = time.perf_counter() - started
        longest = app.meter.longest_s
    rows = await read_rows(database)
    return audit(wiring, database, plan, sent, seeded, rows, wall_s, longest)
