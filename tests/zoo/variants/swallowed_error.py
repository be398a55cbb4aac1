"""An error swallowed and answered 201: the use case catches the failure, rolls back (the
processor does) and returns the exchange it meant to store. Modelled on the common
`except Exception: logger.exception(...)` around a service call in FastAPI route handlers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.application.message_processor import ProcessedMessage
from reference_app.application.use_cases import SendUserMessage
from reference_app.domain.model import ChatMessage, Role
from reference_app.wirings import SessionModule

log = logging.getLogger(__name__)


class ForgivingUseCase(SendUserMessage):
    async def execute(self, session_id: UUID, content: str) -> ProcessedMessage:
        try:
            return await super().execute(session_id, content)
        except Exception:
            log.warning("could not store the message; answering anyway", exc_info=True)
            return ProcessedMessage(
                ChatMessage(session_id, Role.USER, content, 0),
                ChatMessage(session_id, Role.ASSISTANT, f"Echo: {content}", 1),
            )


class SwallowedErrorModule(SessionModule):
    name = "swallowed_error"

    @asynccontextmanager
    async def provide_use_case(self, db: AsyncSession) -> AsyncIterator[SendUserMessage]:
        async with AsyncExitStack() as scope:
            yield ForgivingUseCase(await self.provide_message_processor(db, scope))
