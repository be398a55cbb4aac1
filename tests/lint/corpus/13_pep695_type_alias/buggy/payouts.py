from sqlalchemy.ext.asyncio import AsyncSession

from types_ import Maker


async def transfer(session: AsyncSession, sessionmaker: Maker) -> None:
    session.add(object())
    async with sessionmaker() as other:  # expect: SCN001
        other.add(object())
        await other.commit()
