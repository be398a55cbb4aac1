from sqlalchemy.ext.asyncio import AsyncSession

from types_ import Maker


async def transfer(session: AsyncSession) -> None:
    session.add(object())
    session.add(object())


def describe(sessionmaker: Maker) -> str:
    return repr(sessionmaker)
