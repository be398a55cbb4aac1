from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from factory import create_async_sessionmaker


class MessageRepository:
    def __init__(self, session: AsyncSession, engine: AsyncEngine) -> None:
        self.session = session
        self.maker = create_async_sessionmaker(engine)

    async def save(self, message: object) -> None:
        async with self.maker() as own:  # expect: SCN001
            own.add(message)
            await own.flush()
