"""Objects added to a second session that is closed without a flush: the repository reads on
the request's session but `add()`s its rows to a unit-of-work session of its own, which nobody
flushes. No statement is ever sent, so nothing looks "written". Modelled on SQLAlchemy
discussions of `Session.add()` followed by `close()` ("objects added but never saved")."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.application.conversation_management_service import (
    ConversationManagementService,
)
from reference_app.domain.model import ChatMessage
from reference_app.infrastructure.conversation_repository import ConversationRepositoryImpl
from reference_app.infrastructure.mapper import message_to_model
from reference_app.infrastructure.orm import SessionModel
from reference_app.wirings import SessionModule


class AddOnlyRepository(ConversationRepositoryImpl):
    def __init__(self, db: AsyncSession, writes: AsyncSession) -> None:
        super().__init__(db)
        self._writes = writes

    async def ensure_session(self, session_id: UUID) -> bool:
        if await self.session_exists(session_id):
            return False
        self._writes.add(SessionModel(id=session_id))
        return True

    async def save(self, session_id: UUID, messages: Sequence[ChatMessage]) -> None:
        self._writes.add_all([message_to_model(message) for message in messages])


class UnflushedSecondSessionModule(SessionModule):
    name = "unflushed_second_session"

    async def provide_session_service(
        self, db: AsyncSession, scope: AsyncExitStack
    ) -> ConversationManagementService:
        writes = await scope.enter_async_context(self._session_maker())
        return ConversationManagementService(AddOnlyRepository(db, writes))
