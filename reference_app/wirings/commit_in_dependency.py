"""One request session, committed in `get_db` after `yield`, as FastAPI's docs and most
templates write it. Since FastAPI 0.118 that code runs after the response is sent: the client
gets 201 before the commit, which may then fail (acknowledged, then lost) or simply not have run
yet when the client reads again (acknowledged, not yet visible)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.application.agent import FakeAgent
from reference_app.application.message_processor import MessageProcessor
from reference_app.infrastructure import database
from reference_app.infrastructure.agent_context_repository import AgentContextRepositoryImpl
from reference_app.wirings.session_module import SessionDependency, SessionModule

# The request's session, opened where every wiring opens it.
request_session = asynccontextmanager(database.get_db)


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session, committed when the request is done."""
    async with request_session(request) as db:
        yield db
        await db.commit()


class CommitInDependencyModule(SessionModule):
    name = "commit_in_dependency"
    request_session = SessionDependency(get_db)

    async def provide_message_processor(
        self, db: AsyncSession, scope: AsyncExitStack
    ) -> MessageProcessor:
        service = await self.provide_session_service(db, scope)
        return MessageProcessor(
            db, service, AgentContextRepositoryImpl(db), FakeAgent(), commit=False
        )
