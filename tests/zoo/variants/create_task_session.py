"""The save as a fire-and-forget `asyncio.create_task`: the use case reads the conversation on the
request's session, starts a task that stores the exchange on a session of its own, and answers
201 without waiting for it, so the response goes out before (and whether or not) the write
commits. The tasks are kept in a set, as asyncio's docs ask of fire-and-forget tasks, and the
app's shutdown waits for them (bounded) and cancels the rest. Modelled on the "save it in the
background" pattern of FastAPI routes that call `asyncio.create_task(...)` and return at once
(mkennedy.codes, "Fire and forget (or never) with Python's asyncio"; bridgestack.systems,
"Fire-and-forget asyncio.create_task is a reliability trap")."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reference_app.application.agent import FakeAgent
from reference_app.application.conversation_management_service import (
    ConversationManagementService,
)
from reference_app.application.message_processor import MessageProcessor, ProcessedMessage
from reference_app.application.use_cases import SendUserMessage
from reference_app.domain.model import ChatMessage, Role
from reference_app.infrastructure.agent_context_repository import AgentContextRepositoryImpl
from reference_app.infrastructure.conversation_repository import ConversationRepositoryImpl
from reference_app.wirings import SessionModule

log = logging.getLogger(__name__)

# How long the app's shutdown waits for saves still running before it cancels them.
SHUTDOWN_WAIT_S = 2.0


async def store_in_own_session(
    session_maker: async_sessionmaker[AsyncSession], session_id: UUID, content: str
) -> None:
    """The task: the whole chain on a session of its own, committed at its end."""
    async with session_maker() as db:
        service = ConversationManagementService(ConversationRepositoryImpl(db))
        processor = MessageProcessor(db, service, AgentContextRepositoryImpl(db), FakeAgent())
        await processor.process(session_id, content)


class SaveInBackground(SendUserMessage):
    """Answers from what it read; the storing runs on in a task of its own."""

    def __init__(
        self,
        db: AsyncSession,
        session_maker: async_sessionmaker[AsyncSession],
        saving: set[asyncio.Task[None]],
    ) -> None:
        self._db = db
        self._session_maker = session_maker
        self._saving = saving

    async def execute(self, session_id: UUID, content: str) -> ProcessedMessage:
        position = await ConversationRepositoryImpl(self._db).next_position(session_id)
        reply = await FakeAgent().reply(content)
        task = asyncio.create_task(store_in_own_session(self._session_maker, session_id, content))
        self._saving.add(task)
        task.add_done_callback(self._forget)
        return ProcessedMessage(
            ChatMessage(session_id, Role.USER, content, position),
            ChatMessage(session_id, Role.ASSISTANT, reply, position + 1),
        )

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._saving.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("saving in the background failed: %r", task.exception())


class CreateTaskSessionModule(SessionModule):
    name = "create_task_session"

    def __init__(self, session_maker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(session_maker)
        self.saving: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def provide_use_case(self, db: AsyncSession) -> AsyncIterator[SendUserMessage]:
        yield SaveInBackground(db, self._session_maker, self.saving)

    async def shutdown(self) -> None:
        """The app's shutdown: saves still running get a bounded wait, then are cancelled."""
        if not self.saving:
            return
        _, pending = await asyncio.wait(set(self.saving), timeout=SHUTDOWN_WAIT_S)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=SHUTDOWN_WAIT_S)
