# The clean side of the polar shape: a route that writes reads through the same session.
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
