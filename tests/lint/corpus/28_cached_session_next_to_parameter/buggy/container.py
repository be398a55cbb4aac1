# Modelled on dependency-injector's `providers.Singleton` around a session (its issue tracker
# sees it reported as lost writes and exhausted pools) and on this project's zoo variant
# tests/zoo/variants/singleton_session.py: the provider is given the request's session, yet
# caches one of its own, made once, never committed or closed.
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session


class Container:
    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self._maker = maker
        self._shared: AsyncSession | None = None

    def conversations(self, db: AsyncSession) -> ConversationRepository:
        if self._shared is None:
            self._shared = self._maker()  # expect: SCN001
        return ConversationRepository(self._shared)
