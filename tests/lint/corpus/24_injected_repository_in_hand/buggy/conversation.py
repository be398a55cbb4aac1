# Modelled on this project's seed incident (the root-cause analysis under /work/shared/seed,
# reproduced as reference_app/wirings/two_sessions.py) and on MultiDirectoryLab/MultiDirectory
# PR #660 ("Refactor session repository"): a service holds a repository built on the request's
# session, then saves the messages through a session of its own from the maker.
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session


class ConversationService:
    def __init__(
        self, repository: ConversationRepository, maker: async_sessionmaker[AsyncSession]
    ) -> None:
        self.repository = repository
        self.maker = maker

    async def save_messages(self, messages: list[object]) -> None:
        async with self.maker() as session:  # expect: SCN001
            session.add_all(messages)
            await session.flush()
