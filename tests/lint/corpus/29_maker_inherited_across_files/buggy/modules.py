# Modelled on the seed's `app/core/di/session_module.py` (this project's reference_app/wirings):
# a base module in one file keeps the session factory as an attribute, a subclass in another
# file adds providers, and a third file's subclass builds a repository on a new session while
# the request's one is in hand.
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class Module:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory
