# Modelled on the `DatabaseSessionManager.session()` shape of async FastAPI apps (an
# @asynccontextmanager method on a database object, as in litestar-org/litestar-fullstack's and
# many templates' db modules): a repository that holds the request's session opens another.
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine


class Database:
    def __init__(self, url: str) -> None:
        self._maker = async_sessionmaker(create_async_engine(url))

    @asynccontextmanager
    async def session(self):
        async with self._maker() as session:
            yield session


database = Database("postgresql+asyncpg://localhost/app")
