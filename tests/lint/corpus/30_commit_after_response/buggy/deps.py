# Modelled on FastAPI's 0.118.0 release note ("the exit code after yield is executed after the
# response is sent") and on grillazz/fastapi-sqlalchemy-asyncpg's get_db, which commits after
# `yield` while its routes only flush and answer 201; the second dependency is the
# `async with session.begin(): yield session` shape of mansur-gabidullin/recipe-book-backend.
# This project's reference_app/wirings/commit_in_dependency.py is the same bug, run.
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

SessionFactory = async_sessionmaker(expire_on_commit=False)


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionFactory() as session:
        try:
            yield session
            await session.commit()  # expect: SCN004
        except Exception:
            await session.rollback()
            raise


async def get_transaction() -> AsyncIterator[AsyncSession]:
    async with SessionFactory() as session:
        async with session.begin():  # expect: SCN004
            yield session
