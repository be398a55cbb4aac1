# Modelled on polarsource/polar's `create_async_sessionmaker(engine)` factory
# (server/polar/kit/db/postgres.py) and on this project's seed: a repository that holds the
# request's session also calls a maker it got from the factory.
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


def create_async_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
