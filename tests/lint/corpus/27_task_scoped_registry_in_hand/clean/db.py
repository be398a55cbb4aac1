# The clean side: the request's session is the registry's own (get_db hands out
# `AsyncScopedSession()` and removes it when the request ends), so code that holds it and also
# asks the registry, in the same task, gets the same session.
from asyncio import current_task

from sqlalchemy.ext.asyncio import async_scoped_session, async_sessionmaker

SessionLocal = async_sessionmaker(expire_on_commit=False)
AsyncScopedSession = async_scoped_session(SessionLocal, scopefunc=current_task)


async def get_db():
    async with AsyncScopedSession() as session:
        yield session
    await AsyncScopedSession.remove()
