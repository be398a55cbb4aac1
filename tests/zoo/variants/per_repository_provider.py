"""A DI container whose session provider is a factory: every repository gets a new session, kept
by the container "to close at shutdown", so none is closed while the app runs. Each holds its
connection and its uncommitted rows. Modelled on dependency-injector's `providers.Factory`
around a session maker, a setup its issue tracker sees reported as lost writes and exhausted
pools."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reference_app.infrastructure.conversation_repository import ConversationRepositoryImpl
from reference_app.wirings import SessionModule


class PerRepositoryProviderModule(SessionModule):
    name = "per_repository_provider"

    def __init__(self, session_maker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(session_maker)
        self.opened: list[AsyncSession] = []  # closed at shutdown, which a run never reaches

    def provide_conversation_repository(self, db: AsyncSession) -> ConversationRepositoryImpl:
        session = self._session_maker()
        self.opened.append(session)
        return ConversationRepositoryImpl(session)

    async def shutdown(self) -> None:
        """The container's shutdown: what a run reaches only when the harness closes the app."""
        for session in self.opened:
            await session.invalidate()  # its connection may be gone (the harness took it back)
