"""What the load promised and what a fresh connection finds afterwards: every row read with
plain SQL (`read_rows`, never through the app) and the audit of each request against them
(`audit`: lost, partial, unclear, interleaved, ...).

`benchmarks.load.run_load` ends with it, and the bench reports its counts; tests/reliability
asserts on it (which findings a wiring may show is the tests' policy, tests/reliability/support.py).
"""

from __future__ import annotations

import math
import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from reference_app.infrastructure.database import PG_LOCK_TIMEOUT_MS, SQLITE_BUSY_TIMEOUT_S
from scenarios.databases import Database

if TYPE_CHECKING:
    from benchmarks.load import LoadPlan, Sent

# Scheduling slack on top of a configured lock wait: 100 requests share one event loop on a
# busy two-core machine, so a statement's measured time exceeds the server's wait a little.
WAIT_SLACK_S = 1.0

SEEDED_USER = "seeded question"
SEEDED_REPLY = "seeded answer"


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

    def context_sessions(self) -> list[uuid.UUID]:
        """The chat session each agent context points at (whether it resolves: `orphans`)."""
        return sorted(s for s, _ in self.agent_contexts)

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


def statement_bound_s(database: Database) -> float:
    """The longest a statement may wait on a lock, as the app configures it."""
    if database.kind == "sqlite":
        return SQLITE_BUSY_TIMEOUT_S
    return PG_LOCK_TIMEOUT_MS / 1000


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
