"""A never-closed session: the container's provider is a singleton, so the repository's session
is made once and lives as long as the app, its transaction never committed. Modelled on
`providers.Singleton(AsyncSession, ...)` in dependency-injector examples gone wrong."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reference_app.infrastructure.conversation_repository import ConversationRepositoryImpl
from reference_app.wirings import SessionModule


class SingletonSessionModule(SessionModule):
    name = "singleton_session"

    def __init__(self, session_maker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(session_maker)
        self._shared: AsyncSession | None = None

    def provide_conversation_repository(self, db: AsyncSession) -> ConversationRepositoryImpl:
        if self._shared is None:
            self._shared = self._session_maker()
        return ConversationRepositoryImpl(self._shared)

    async def shutdown(self) -> None:
        """The container's shutdown: what a run reaches only when the harness closes the app."""
        for session in [self._shared] if self._shared is not None else []:
            await session.invalidate()  # its connection may be gone (the harness took it back)
