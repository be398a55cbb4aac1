"""The module-level app's adapter, written with the public toolkit only (`scenarios.toolkit`).

`open` re-points the app's module-level container at the scratch database and puts it back on
close: no routing shim, because the runner opens one target at a time in a process. It fails
loudly if a second target is opened while one is open, so a runner that broke that promise
could not pass unnoticed.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import ExitStack, asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

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
from scenarios.stateful import SearchOptions
from scenarios.toolkit import Checkpoints, bound_waits, response_for_exception
from tests.porting.module_level_app import app as chat_app

CHECKPOINTS = Checkpoints()
_tables = chat_app.Base.metadata.tables
CHATS, MESSAGES, CONTEXTS = (
    _tables[name] for name in ("mla_chats", "mla_messages", "mla_agent_contexts")
)
TABLES = (MESSAGES, CONTEXTS, CHATS)


class SecondTargetOpened(RuntimeError):
    pass


class OwnSessionRepository(chat_app.ChatRepository):
    """The incident app's bug put into this app: messages go through a session of the repository's
    own, opened from the container's session maker, flushed and closed, never committed."""

    async def add_message(self, chat_id: uuid.UUID, role: str, content: str) -> Any:
        async with chat_app.container.session_maker() as own:
            return await chat_app.ChatRepository(own).add_message(chat_id, role, content)


def _parse(response: httpx.Response) -> ChatResponse:
    body = response.json() if response.content else {}
    body = body if isinstance(body, dict) else {}
    detail = body.get("detail", "")
    fields: tuple[str, ...] = ()
    if isinstance(detail, list):
        fields = tuple(str(problem.get("loc", ["?"])[-1]) for problem in detail)
    return ChatResponse(
        status=response.status_code,
        messages=tuple(
            StoredMessage(m["role"], m["content"], m["position"]) for m in body.get("messages", [])
        ),
        error_code=body.get("code"),
        invalid_fields=fields,
        detail=str(detail),
    )


class ModuleLevelTarget:
    # The app's validation is its own (pydantic's defaults: it stores whitespace-only text), not
    # the pack's: leaving REJECTS_BAD_INPUT out skips the bad-input scenarios and search rule.
    capabilities = Capability.ALL - {Capability.REJECTS_BAD_INPUT}

    def __init__(self, client: httpx.AsyncClient, reader: AsyncEngine) -> None:
        self.client = client
        self.reader = reader

    async def send(self, request: ChatRequest, hook: PointHook | None = None) -> ChatResponse:
        path = f"/sessions/{request.raw_session or request.session}/messages"
        with CHECKPOINTS.hooked(hook):
            try:
                if request.body is not None:
                    response = await self.client.post(
                        path, content=request.body, headers={"content-type": "application/json"}
                    )
                else:
                    response = await self.client.post(path, json={"content": request.content})
            except Exception as error:  # the app let it escape: a bare 500
                return response_for_exception(error)
        return _parse(response)

    async def read_back(self, session: str) -> ChatResponse:
        return _parse(await self.client.get(f"/sessions/{session}/messages"))

    async def read_state(self) -> DatabaseState:
        messages: dict[str, list[StoredMessage]] = defaultdict(list)
        async with self.reader.connect() as connection:
            chats = {str(c) for c in (await connection.scalars(select(chat_app.Chat.id))).all()}
            rows = await connection.execute(
                select(
                    chat_app.Message.chat_id,
                    chat_app.Message.role,
                    chat_app.Message.content,
                    chat_app.Message.position,
                ).order_by(chat_app.Message.chat_id, chat_app.Message.position)
            )
            for chat_id, role, content, position in rows:
                messages[str(chat_id)].append(StoredMessage(role, content, position))
            contexts: dict[str, int] = defaultdict(int)
            for chat_id in (await connection.scalars(select(chat_app.AgentContext.chat_id))).all():
                contexts[str(chat_id)] += 1
        dangling = [f"messages.chat_id {k} -> chats" for k in messages if k not in chats]
        dangling += [f"agent_contexts.chat_id {k} -> chats" for k in contexts if k not in chats]
        return DatabaseState(
            sessions=frozenset(chats),
            messages={k: tuple(v) for k, v in messages.items()},
            agent_contexts=dict(contexts),
            dangling=tuple(dangling),
        )

    async def reset(self) -> None:
        async with self.reader.begin() as connection:
            for table in TABLES:
                await connection.execute(delete(table))

    async def seed(self, conversations: Sequence[SeedConversation]) -> None:
        async with self.reader.begin() as connection:
            for conversation in conversations:
                chat_id = uuid.UUID(conversation.session)
                await connection.execute(insert(CHATS).values(id=chat_id))
                for position, (role, content) in enumerate(conversation.messages):
                    await connection.execute(
                        insert(MESSAGES).values(
                            chat_id=chat_id, role=role, content=content, position=position
                        )
                    )
                if conversation.agent_context:
                    await connection.execute(insert(CONTEXTS).values(chat_id=chat_id))


class ModuleLevelFactory:
    name = "module_level_app"
    wirings: Sequence[str] = ("as_written", "two_sessions")
    # The app's limit on content; the search's valid texts stay inside it.
    search_options = SearchOptions(max_content_chars=10_000)

    def __init__(self) -> None:
        self.open_now = 0
        self.most_open = 0

    @asynccontextmanager
    async def open(self, wiring: str, database: Database) -> AsyncIterator[ModuleLevelTarget]:
        if self.open_now:
            raise SecondTargetOpened("a second target was opened while one was open")
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        container = chat_app.container
        saved = container.engine, container.session_maker
        engine = create_async_engine(database.url)
        bound_waits(engine)
        reader = create_async_engine(database.url)
        bound_waits(reader)
        container.engine = engine
        container.session_maker = async_sessionmaker(engine, expire_on_commit=False)
        app = chat_app.app
        try:
            async with engine.begin() as connection:
                await connection.run_sync(chat_app.Base.metadata.create_all)
            with ExitStack() as patches:
                repository = chat_app.ChatRepository
                patches.enter_context(
                    CHECKPOINTS.patched(repository, "add_user_message", after="after_user_message")
                )
                patches.enter_context(
                    CHECKPOINTS.patched(
                        repository, "ensure_agent_context", after="after_agent_context"
                    )
                )
                patches.enter_context(
                    CHECKPOINTS.patched(repository, "add_reply", after="after_reply")
                )
                app.dependency_overrides[chat_app.get_db] = CHECKPOINTS.session_dependency(
                    chat_app.get_db
                )
                if wiring == "two_sessions":
                    patches.callback(setattr, container, "repository", container.repository)
                    container.repository = OwnSessionRepository  # type: ignore[method-assign]
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                    yield ModuleLevelTarget(client, reader)
        finally:
            app.dependency_overrides.pop(chat_app.get_db, None)
            container.engine, container.session_maker = saved
            await engine.dispose()
            await reader.dispose()
            self.open_now -= 1

    def expected_outcome(self, scenario: str, interleaving: str, wiring: str, database: str) -> str:
        return "ok"


TARGET = ModuleLevelFactory()
