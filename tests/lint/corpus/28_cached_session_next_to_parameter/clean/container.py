# The clean side: a session is opened only when the caller gave none (a script's own unit of
# work), and the request's session is used when it is given.
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session


class Container:
    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self._maker = maker

    def conversations(self, db: AsyncSession | None = None) -> ConversationRepository:
        if db is None:
            db = self._maker()
        return ConversationRepository(db)
