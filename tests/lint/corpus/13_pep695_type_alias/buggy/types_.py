# Modelled on polarsource/polar, which names its session and maker types with PEP 695 `type`
# statements (server/polar/kit/db/postgres.py, server/polar/postgres.py): a maker reached
# through a `type` alias is still a maker.
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

type Maker = async_sessionmaker[AsyncSession]
