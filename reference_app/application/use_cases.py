"""The use case the API calls: one user message in, the stored exchange out."""

from __future__ import annotations

from uuid import UUID

from reference_app.application.message_processor import MessageProcessor, ProcessedMessage


class SendUserMessage:
    def __init__(self, processor: MessageProcessor) -> None:
        self._processor = processor

    async def execute(self, session_id: UUID, content: str) -> ProcessedMessage:
        return await self._processor.process(session_id, content)
