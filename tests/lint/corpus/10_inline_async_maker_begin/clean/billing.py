# The clean side of the inline-maker shape: the session is given to the service.
from sqlalchemy.ext.asyncio import AsyncSession


class BillingService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def charge(self, amount: int) -> None:
        self.session.add(object())
