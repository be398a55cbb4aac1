# The clean side of the `DatabaseSessionManager.session()` shape: the request dependency opens
# the session through it, and repositories use the session they hold.

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine


class Database:
    def __init__(self, url: str) -> None:
        self._maker = async_sessionmaker(create_async_engine(url))

    @asynccontextmanager
    async def session(self):
        async with self._maker() as session:
            yield session


database = Database("postgresql+asyncpg://localhost/app")


async def get_session():
    async with database.session() as session:
        yield session
