"""ConversationManagementService: the incident app's service, which reaches the database only
through the repository it is given (and so through whichever session that repository holds)."""

from __future__ import annotations

from uuid import UUID

from reference_app.application.ports import ConversationRepository
from reference_app.domain.model import ChatMessage, Role


class ConversationManagementService:
    def __init__(self, repository: ConversationRepository) -> None:
        self._repository = repository

    async def start_or_resume(self, session_id: UUID) -> bool:
        return await self._repository.ensure_session(session_id)

    async def append(self, session_id: UUID, role: Role, content: str) -> ChatMessage:
        position = await self._repository.next_position(session_id)
        message = ChatMessage(session_id=session_id, role=role, content=content, position=position)
        await self._repository.save(session_id, [message])
        return message

    async def history(self, session_id: UUID) -> list[ChatMessage] | None:
        if not await self._repository.session_exists(session_id):
            return None
        return await self._repository.list_messages(session_id)
