# The clean side of FastAPI's 0.118.0 note: the same get_db declared
# `Depends(get_db, scope="function")` (FastAPI >= 0.121 runs its exit code when the path
# operation returns, before the response), and a transaction helper that is an
# `@asynccontextmanager` used inside the handler, whose block ends before the handler returns.
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

SessionFactory = async_sessionmaker(expire_on_commit=False)


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionFactory() as session:
        try:
            yield session
            await session.commit()
        except Exception:
            await session.rollback()
            raise


@asynccontextmanager
async def transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    async with session.begin():
        yield session


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionFactory() as session:
        yield session
