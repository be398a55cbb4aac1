from sqlalchemy.ext.asyncio import AsyncSession


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, message: object) -> None:
        self.session.add(message)
        await self.session.flush()
