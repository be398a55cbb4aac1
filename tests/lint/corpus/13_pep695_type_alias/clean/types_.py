# The clean side of the polarsource/polar `type` alias shape: the alias only annotates.
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

type Maker = async_sessionmaker[AsyncSession]
