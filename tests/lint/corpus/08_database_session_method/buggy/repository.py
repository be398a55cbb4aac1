from sqlalchemy.ext.asyncio import AsyncSession

from db import database


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def save(self, order: object) -> None:
        self._session.add(order)

    async def save_line(self, line: object) -> None:
        async with database.session() as session:  # expect: SCN001
            session.add(line)
            await session.commit()
