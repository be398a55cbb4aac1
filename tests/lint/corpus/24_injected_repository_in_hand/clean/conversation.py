# The fix of this project's seed incident (reference_app/wirings/session_module.py): the
# service saves through the repository built on the request's session.
from sqlalchemy.ext.asyncio import AsyncSession


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_all(self, messages: list[object]) -> None:
        self.session.add_all(messages)
        await self.session.flush()


class ConversationService:
    def __init__(self, repository: ConversationRepository) -> None:
        self.repository = repository

    async def save_messages(self, messages: list[object]) -> None:
        await self.repository.add_all(messages)
