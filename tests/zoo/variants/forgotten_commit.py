"""A forgotten commit: one session, every row flushed, nobody commits; get_db closes the session
and the rows are rolled back after a 201. Modelled on the "my FastAPI endpoint returns the object
but nothing is in the table" questions about SQLAlchemy's autocommit removal (2.0)."""

from __future__ import annotations

from contextlib import AsyncExitStack

from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.application.agent import FakeAgent
from reference_app.application.message_processor import MessageProcessor
from reference_app.infrastructure.agent_context_repository import AgentContextRepositoryImpl
from reference_app.wirings import SessionModule


class ForgottenCommitModule(SessionModule):
    name = "forgotten_commit"

    async def provide_message_processor(
        self, db: AsyncSession, scope: AsyncExitStack
    ) -> MessageProcessor:
        service = await self.provide_session_service(db, scope)
        return MessageProcessor(
            db, service, AgentContextRepositoryImpl(db), FakeAgent(), commit=False
        )
