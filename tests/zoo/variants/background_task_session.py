"""The save moved into FastAPI's `BackgroundTasks`, with a session of its own: the route reads the
conversation on the request's session, answers 201 with the exchange it is about to store, and
the background task, run after the response is sent, opens a session from the session maker and
stores it. When that task fails, the client has already been told "saved". Modelled on the
"don't pass the request's session to a background task, open a new one in it" fix
(DataJunction/dj pull request #1492) and the FastAPI threads about a session closed in a
background task, whose answer leaves the task's failure unseen by the client.

No `from __future__ import annotations`: FastAPI reads each `Depends` from its annotation."""

from typing import Annotated
from uuid import UUID

from fastapi import BackgroundTasks, Depends, Request
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
from reference_app.infrastructure.database import get_db
from reference_app.wirings import SessionDependency, SessionModule


async def store_in_own_session(
    session_maker: async_sessionmaker[AsyncSession], session_id: UUID, content: str
) -> None:
    """The background task: the whole chain on a session of its own, committed at its end."""
    async with session_maker() as db:
        service = ConversationManagementService(ConversationRepositoryImpl(db))
        processor = MessageProcessor(db, service, AgentContextRepositoryImpl(db), FakeAgent())
        await processor.process(session_id, content)


class SaveAfterResponse(SendUserMessage):
    """Answers from what it read; the storing is left to a background task."""

    def __init__(
        self,
        db: AsyncSession,
        background: BackgroundTasks,
        session_maker: async_sessionmaker[AsyncSession],
    ) -> None:
        self._db = db
        self._background = background
        self._session_maker = session_maker

    async def execute(self, session_id: UUID, content: str) -> ProcessedMessage:
        position = await ConversationRepositoryImpl(self._db).next_position(session_id)
        reply = await FakeAgent().reply(content)
        self._background.add_task(store_in_own_session, self._session_maker, session_id, content)
        return ProcessedMessage(
            ChatMessage(session_id, Role.USER, content, position),
            ChatMessage(session_id, Role.ASSISTANT, reply, position + 1),
        )


async def get_use_case(
    request: Request,
    db: Annotated[AsyncSession, Depends(get_db)],
    background: BackgroundTasks,
) -> SendUserMessage:
    return SaveAfterResponse(db, background, request.app.state.session_maker)


class BackgroundTaskSessionModule(SessionModule):
    name = "background_task_session"
    request_session = SessionDependency(get_db, use_case=get_use_case)
