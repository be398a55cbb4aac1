# Modelled on SQLAlchemy's asyncio docs ("Using asyncio scoped session": the registry keyed to
# `current_task` must be removed at the end of each task) and on FastAPI apps such as
# mansur-gabidullin/recipe-book-backend that keep `AsyncScopedSession = async_scoped_session(...,
# scopefunc=current_task)` beside a maker: here the request's session comes from the maker,
# and the code below also takes one from the registry, which is a second session.
from asyncio import current_task

from sqlalchemy.ext.asyncio import AsyncSession, async_scoped_session, async_sessionmaker

SessionLocal = async_sessionmaker(expire_on_commit=False)
AsyncScopedSession = async_scoped_session(SessionLocal, scopefunc=current_task)


async def get_db():
    async with SessionLocal() as session:
        yield session
