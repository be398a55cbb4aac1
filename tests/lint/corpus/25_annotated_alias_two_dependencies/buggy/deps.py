# Modelled on polarsource/polar's two request dependencies, get_db_session and
# get_db_read_session (server/polar/postgres.py), reached through Annotated aliases: a route
# that asks for both opens two sessions per request and may read what it has not committed.
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

write_maker = async_sessionmaker()
read_maker = async_sessionmaker()


async def get_db_session():
    async with write_maker() as session:
        yield session


async def get_db_read_session():
    async with read_maker() as session:
        yield session


WriteSession = Annotated[AsyncSession, Depends(get_db_session)]
ReadSession = Annotated[AsyncSession, Depends(get_db_read_session)]
