# Modelled on the `DatabaseSessionManager` class that many public async FastAPI apps carry (found
# by code search; several credit the post "FastAPI and async SQLAlchemy 2.0 with pytest done
# right" on praciano.com.br), whose @asynccontextmanager `session()` method hands out sessions:
# here a repository that holds the request's session opens another through it.
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
