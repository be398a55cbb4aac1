"""The reference app's adapter for the regression pack.

It is an ordinary user of `scenarios.adapter`: it drives the app through HTTP (httpx's ASGI
transport, no server), reads the database through an engine of its own whose connections the
app never uses, and installs the runner's hook at the app's checkpoints.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, func, insert, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncEngine

from reference_app.application.checkpoints import InjectedFault, checkpoint_hook
from reference_app.infrastructure.database import create_engine
from reference_app.infrastructure.orm import AgentContextModel, Base, MessageModel, SessionModel
from reference_app.server_transport import late_failures
from reference_app.serving import TABLES_IN_DELETE_ORDER, serve
from reference_app.wirings import WIRINGS, SessionModule
from scenarios.adapter import (
    Capability,
    ChatRequest,
    ChatResponse,
    DatabaseState,
    PointHook,
    SeedConversation,
    StoredMessage,
)
from scenarios.databases import Database
from scenarios.expectations import ExpectedOutcomes

EXPECTED_OUTCOMES_FILE = Path(__file__).with_name("expected_outcomes.toml")

_sessions = Base.metadata.tables[SessionModel.__tablename__]
_messages = Base.metadata.tables[MessageModel.__tablename__]
_contexts = Base.metadata.tables[AgentContextModel.__tablename__]


def _parse_response(response: httpx.Response) -> ChatResponse:
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    messages = tuple(
        StoredMessage(m["role"], m["content"], m["position"]) for m in body.get("messages", [])
    )
    detail = body.get("detail", "")
    fields: tuple[str, ...] = ()
    if isinstance(detail, list):
        fields = tuple(str(problem.get("field")) for problem in detail)
        detail = "; ".join(f"{p.get('field')}: {p.get('msg')}" for p in detail)
    return ChatResponse(
        status=response.status_code,
        messages=messages,
        error_code=body.get("code"),
        invalid_fields=fields,
        detail=str(detail),
    )


# Every chat session, message and agent-context count in one statement (one round trip, one
# snapshot): rows tagged s / m / a; messages in position order.
_STATE_QUERY = union_all(
    select(
        literal("s").label("kind"),
        _sessions.c.id.label("session_id"),
        null().label("role"),
        null().label("content"),
        null().label("number"),
    ),
    select(
        literal("m"),
        _messages.c.session_id,
        _messages.c.role,
        _messages.c.content,
        _messages.c.position,
    ),
    select(
        literal("a"),
        _contexts.c.session_db_id,
        null(),
        null(),
        func.count(),
    ).group_by(_contexts.c.session_db_id),
).order_by("kind", "session_id", "number")


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


# FastAPI runs a dependency's code after `yield` after the response is sent only since 0.118;
# before, the app has no point after its response, and the target does not claim one.
RUNS_CODE_AFTER_RESPONSE = _release(version("fastapi")) >= (0, 118)
CAPABILITIES = (
    Capability.ALL | {Capability.AFTER_RESPONSE} if RUNS_CODE_AFTER_RESPONSE else Capability.ALL
)


class ReferenceTarget:
    capabilities = CAPABILITIES

    def __init__(
        self, client: httpx.AsyncClient, reader: AsyncEngine, writer: AsyncEngine | None = None
    ) -> None:
        """`reader` serves `read_state`; `writer` (default: the reader) `reset` and `seed`."""
        self._client = client
        self._reader = reader
        self._writer = writer if writer is not None else reader

    async def send(self, request: ChatRequest, hook: PointHook | None = None) -> ChatResponse:
        path = f"/sessions/{request.raw_session or request.session}/messages"

        async def app_hook(point: str) -> None:
            if hook is not None and await hook(point):
                raise InjectedFault(point)

        token = checkpoint_hook.set(app_hook if hook is not None else None)
        try:
            with late_failures() as late:
                if request.body is not None:
                    response = await self._client.post(
                        path, content=request.body, headers={"content-type": "application/json"}
                    )
                else:
                    response = await self._client.post(path, json={"content": request.content})
        except Exception as error:  # noqa: BLE001 - an unhandled app error reaches the client as a 500
            return ChatResponse(status=500, detail=f"{type(error).__name__}: {error}")
        finally:
            checkpoint_hook.reset(token)
        return replace(_parse_response(response), late_failure="; ".join(late))

    async def read_back(self, session: str) -> ChatResponse:
        return _parse_response(await self._client.get(f"/sessions/{session}/messages"))

    async def read_state(self) -> DatabaseState:
        async with self._reader.connect() as connection:
            rows = (await connection.execute(_STATE_QUERY)).all()
        session_ids: list[object] = []
        messages: dict[str, list[StoredMessage]] = defaultdict(list)
        contexts: dict[str, int] = {}
        for kind, session_id, role, content, number in rows:
            if kind == "s":
                session_ids.append(session_id)
            elif kind == "m":
                messages[str(session_id)].append(StoredMessage(role, content, number))
            else:
                contexts[str(session_id)] = number
        sessions = frozenset(str(s) for s in session_ids)
        dangling = [
            f"messages.session_id {key} -> sessions" for key in messages if key not in sessions
        ] + [
            f"agent_contexts.session_db_id {key} -> sessions"
            for key in contexts
            if key not in sessions
        ]
        return DatabaseState(
            sessions=sessions,
            messages={key: tuple(rows) for key, rows in messages.items()},
            agent_contexts=contexts,
            dangling=tuple(dangling),
        )

    async def reset(self) -> None:
        async with self._writer.begin() as connection:
            for table in TABLES_IN_DELETE_ORDER:
                await connection.execute(delete(table))

    async def seed(self, conversations: Sequence[SeedConversation]) -> None:
        async with self._writer.begin() as connection:
            for conversation in conversations:
                session_id = uuid.UUID(conversation.session)
                await connection.execute(insert(_sessions).values(id=session_id))
                if conversation.messages:
                    await connection.execute(
                        insert(_messages),
                        [
                            {
                                "session_id": session_id,
                                "role": role,
                                "content": content,
                                "position": position,
                            }
                            for position, (role, content) in enumerate(conversation.messages)
                        ],
                    )
                if conversation.agent_context:
                    await connection.execute(
                        insert(_contexts).values(session_db_id=session_id, payload="{}")
                    )


class ReferenceTargetFactory:
    name = "reference_app"
    # Each target has an engine and an app of its own: the runner may open several at once.
    isolated_targets = True

    def __init__(
        self,
        expected_outcomes_file: Path = EXPECTED_OUTCOMES_FILE,
        modules: Mapping[str, type[SessionModule]] | None = None,
    ) -> None:
        """The documented wirings; or, with `modules`, compositions of the caller's own."""
        self._expected = ExpectedOutcomes.from_toml(expected_outcomes_file)
        self._modules: Mapping[str, type[SessionModule]] = modules or WIRINGS
        self.wirings: Sequence[str] = tuple(self._modules)

    @asynccontextmanager
    async def open(self, wiring: str, database: Database) -> AsyncIterator[ReferenceTarget]:
        # The reader's and the writer's connections are their own: the app never touches them.
        # Every read is one statement begun after the request, so it sees exactly what was
        # committed, in one snapshot; in autocommit, so on Postgres no BEGIN and ROLLBACK
        # round trips around it, nor around the pool's liveness ping (six round trips become
        # two). Resets and seeds are transactions, on the writer. Both pooled (not a new
        # connection per read) because connecting costs more than the read.
        reader = create_engine(
            database.url, pool_size=1, max_overflow=1, isolation_level="AUTOCOMMIT"
        )
        writer = create_engine(database.url, pool_size=1, max_overflow=1)
        try:
            async with serve(database.url, self._modules.get(wiring, wiring)) as served:
                yield ReferenceTarget(served.client, reader, writer)
        finally:
            try:
                await writer.dispose()
            finally:
                await reader.dispose()

    def expected_outcome(self, scenario: str, interleaving: str, wiring: str, database: str) -> str:
        return self._expected(scenario, interleaving, wiring, database)


TARGET = ReferenceTargetFactory()
