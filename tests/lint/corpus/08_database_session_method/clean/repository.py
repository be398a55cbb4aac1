from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from db import get_session


class OrderRepository:
    def __init__(self, session: AsyncSession = Depends(get_session)) -> None:
        self._session = session

    async def save(self, order: object) -> None:
        self._session.add(order)

    async def save_line(self, line: object) -> None:
        self._session.add(line)
