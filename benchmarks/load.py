"""The load: N concurrent requests over M chat sessions, sent from one asyncio client through the
ASGI app, then audited against what a fresh connection finds (`benchmarks.audit`).

tests/reliability asserts on the audit with a small N; the benchmarks time the full N. Both run
`run_load`, so the load the README quotes is the load the tests check.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import event, insert
from sqlalchemy.engine import Connection, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from benchmarks.audit import SEEDED_REPLY, SEEDED_USER, Audit, audit, read_rows
from reference_app.application.checkpoints import InjectedFault, checkpoint_hook
from reference_app.infrastructure.database import create_engine
from reference_app.infrastructure.orm import Base
from reference_app.serving import empty_tables, serve
from scenarios.adapter import POINTS
from scenarios.databases import Database
from scenarios.inputs import LOAD_REQUESTS_VARIABLE, LOAD_SESSIONS_VARIABLE, load_size

FULL_REQUESTS = 500
FULL_SESSIONS = 50
REQUESTS_VARIABLE = LOAD_REQUESTS_VARIABLE
SESSIONS_VARIABLE = LOAD_SESSIONS_VARIABLE

# A request still unanswered after this long is a hang: it is recorded and fails the audit.
REQUEST_CAP_S = 60.0

_sessions = Base.metadata.tables["sessions"]
_messages = Base.metadata.tables["messages"]
_contexts = Base.metadata.tables["agent_contexts"]


@dataclass(frozen=True)
class LoadPlan:
    """`requests` requests over `sessions` chat sessions; the first half of the chat sessions
    already have a committed exchange (the incident app's "existing chat"), the rest are new. With
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
    except Exception as error:  # noqa: BLE001 - an unhandled app error surfaces here through the transport
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


async def run_load(database: Database, wiring: str, plan: LoadPlan) -> Audit:
    """Empty the tables, seed the existing chat sessions, send every request at once, audit."""
    await empty_tables(database.url)
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
