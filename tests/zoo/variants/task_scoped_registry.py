"""A task-scoped registry: `async_scoped_session(..., scopefunc=asyncio.current_task)` for the
repository, and no `remove()` at the end of the request, so each task's session stays in the
registry with its connection and uncommitted rows. SQLAlchemy's asyncio docs warn that the
scoped session must be removed when the task ends; this is what happens when it is not."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_scoped_session, async_sessionmaker

from reference_app.infrastructure.conversation_repository import ConversationRepositoryImpl
from reference_app.wirings import SessionModule


class TaskScopedRegistryModule(SessionModule):
    name = "task_scoped_registry"

    def __init__(self, session_maker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(session_maker)
        self._registry = async_scoped_session(session_maker, scopefunc=asyncio.current_task)

    def provide_conversation_repository(self, db: AsyncSession) -> ConversationRepositoryImpl:
        return ConversationRepositoryImpl(self._registry())

    async def shutdown(self) -> None:
        """The container's shutdown: what a run reaches only when the harness closes the app."""
        for session in list(self._registry.registry.registry.values()):
            await session.invalidate()  # its connection may be gone (the harness took it back)
