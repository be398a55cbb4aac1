"""A task-scoped registry and a fan-out: the service stores each message in a task of its own
(`asyncio.gather`), and the repository's session comes from `async_scoped_session` keyed to the
current task, so every child task writes in a session of its own that nobody commits or removes.
SQLAlchemy's asyncio docs warn against `current_task` as the scope for exactly this reason."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_scoped_session, async_sessionmaker

from reference_app.application.conversation_management_service import (
    ConversationManagementService,
)
from reference_app.domain.model import ChatMessage, Role
from reference_app.infrastructure.conversation_repository import ConversationRepositoryImpl
from reference_app.wirings import SessionModule


class FanOutService(ConversationManagementService):
    async def append(self, session_id: UUID, role: Role, content: str) -> ChatMessage:
        (message,) = await asyncio.gather(super().append(session_id, role, content))
        return message


class GatherFanOutModule(SessionModule):
    name = "gather_fan_out"

    def __init__(self, session_maker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(session_maker)
        self._registry = async_scoped_session(session_maker, scopefunc=asyncio.current_task)

    async def provide_session_service(
        self, db: AsyncSession, scope: AsyncExitStack
    ) -> ConversationManagementService:
        return FanOutService(ConversationRepositoryImpl(self._registry()))

    async def shutdown(self) -> None:
        """The container's shutdown: what a run reaches only when the harness closes the app."""
        for session in list(self._registry.registry.registry.values()):
            await session.invalidate()  # its connection may be gone (the harness took it back)
