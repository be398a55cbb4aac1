"""The incident app's fix 3: a UnitOfWork owns the request's session, builds both repositories
on it, and is what MessageProcessor commits."""

from __future__ import annotations

from contextlib import AsyncExitStack

from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.application.agent import FakeAgent
from reference_app.application.conversation_management_service import (
    ConversationManagementService,
)
from reference_app.application.message_processor import MessageProcessor
from reference_app.infrastructure.unit_of_work import UnitOfWork
from reference_app.wirings.session_module import SessionModule


class UnitOfWorkModule(SessionModule):
    name = "unit_of_work"

    async def provide_message_processor(
        self, db: AsyncSession, scope: AsyncExitStack
    ) -> MessageProcessor:
        uow = await scope.enter_async_context(UnitOfWork(db))
        service = ConversationManagementService(uow.conversations)
        return MessageProcessor(uow, service, uow.agent_contexts, FakeAgent())
