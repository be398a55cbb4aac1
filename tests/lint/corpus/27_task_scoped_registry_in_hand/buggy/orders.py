from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from db import AsyncScopedSession, get_db


class OrderService:
    def __init__(self, session: AsyncSession = Depends(get_db)) -> None:
        self.session = session

    async def place(self, order: object, audit: object) -> None:
        self.session.add(order)
        AsyncScopedSession.add(audit)  # expect: SCN001
        await AsyncScopedSession.commit()
        await self.session.commit()


async def record_refund(session: AsyncSession, refund: object) -> None:
    session.add(refund)
    ledger = AsyncScopedSession()  # expect: SCN001
    ledger.add(refund)
    await session.commit()
