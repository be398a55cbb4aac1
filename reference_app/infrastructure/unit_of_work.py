"""The incident app's fix 3: a UnitOfWork owns the session, builds the repositories on it, and
is the only thing that commits or rolls back."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.infrastructure.agent_context_repository import AgentContextRepositoryImpl
from reference_app.infrastructure.conversation_repository import ConversationRepositoryImpl


class UnitOfWork:
    def __init__(self, db: AsyncSession) -> None:
        self._db = db
        self.conversations = ConversationRepositoryImpl(db)
        self.agent_contexts = AgentContextRepositoryImpl(db)
        self.committed = False

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if not self.committed:
            await self.rollback()

    async def commit(self) -> None:
        await self._db.commit()
        self.committed = True

    async def rollback(self) -> None:
        await self._db.rollback()
