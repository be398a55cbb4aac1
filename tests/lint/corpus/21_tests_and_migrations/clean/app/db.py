from sqlalchemy.ext.asyncio import async_sessionmaker

sessionmaker = async_sessionmaker()
