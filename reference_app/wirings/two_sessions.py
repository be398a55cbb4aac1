"""The bug, as the incident app had it: the conversation service's repository gets a session of its
own from the session maker, while MessageProcessor commits the request's session."""

from __future__ import annotations

from contextlib import AsyncExitStack

from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.application.conversation_management_service import (
    ConversationManagementService,
)
from reference_app.wirings.session_module import SessionModule


class TwoSessionsModule(SessionModule):
    name = "two_sessions"

    async def provide_session_service(
        self, db: AsyncSession, scope: AsyncExitStack
    ) -> ConversationManagementService:
        own_db = await scope.enter_async_context(self._session_maker())  # Session B
        return ConversationManagementService(self.provide_conversation_repository(own_db))
