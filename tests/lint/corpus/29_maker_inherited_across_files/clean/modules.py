# The clean side of the seed's session module: the subclass builds the repository on the
# request's session; the inherited factory stays for the module's own scripts.
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class Module:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory
