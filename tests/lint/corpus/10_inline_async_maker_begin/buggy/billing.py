# Modelled on the inline `async_sessionmaker(engine).begin()` shape named in this project's
# issue 12 (one public thread about such makers, by its title: Kasma-Inc/hirag-prod PR #93,
# "minor issues with new session maker"): a service method builds a maker for its own
# transaction.
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


class BillingService:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def charge(self, amount: int) -> None:
        async with async_sessionmaker(self.engine).begin() as session:  # expect: SCN003
            session.add(object())
