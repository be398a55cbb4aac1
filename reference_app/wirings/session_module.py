"""SessionModule: the composition root, modelled on the incident app's
`app/core/di/session_module.py`.

As written here every service gets the request's `db` (the `shared_session` wiring, which
adds nothing to it); the other wirings subclass it and override one provider each, so a diff
shows the difference.
`request_session` says which `get_db` the routes depend on, and in which FastAPI scope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reference_app.application.agent import FakeAgent
from reference_app.application.conversation_management_service import (
    ConversationManagementService,
)
from reference_app.application.message_processor import MessageProcessor
from reference_app.application.use_cases import SendUserMessage
from reference_app.infrastructure.agent_context_repository import AgentContextRepositoryImpl
from reference_app.infrastructure.conversation_repository import ConversationRepositoryImpl
from reference_app.infrastructure.database import get_db


@dataclass(frozen=True)
class SessionDependency:
    """The request's session as the routes depend on it: which `get_db`, in which FastAPI scope
    (None: FastAPI's default, where the code after `yield` runs after the response is sent).

    `use_case`, when set, is the FastAPI dependency the message route takes its use case from,
    for a composition built in FastAPI's own dependency tree (repositories or `BackgroundTasks`
    as `Depends` parameters); unset, the route asks the module, with the request's session."""

    get_db: Callable[..., AsyncIterator[AsyncSession]]
    scope: Literal["function", "request"] | None = None
    use_case: Callable[..., Any] | None = None


class SessionModule:
    name = "shared_session"
    request_session: ClassVar[SessionDependency] = SessionDependency(get_db)

    def __init__(self, session_maker: async_sessionmaker[AsyncSession]) -> None:
        self._session_maker = session_maker

    async def shutdown(self) -> None:
        """Close what the composition root holds for the app's lifetime: nothing, here; a
        container that keeps sessions closes them when the app stops."""

    @asynccontextmanager
    async def provide_use_case(self, db: AsyncSession) -> AsyncIterator[SendUserMessage]:
        async with AsyncExitStack() as scope:
            yield SendUserMessage(await self.provide_message_processor(db, scope))

    @asynccontextmanager
    async def provide_reader(
        self, db: AsyncSession
    ) -> AsyncIterator[ConversationManagementService]:
        async with AsyncExitStack() as scope:
            yield await self.provide_session_service(db, scope)

    async def provide_message_processor(
        self, db: AsyncSession, scope: AsyncExitStack
    ) -> MessageProcessor:
        service = await self.provide_session_service(db, scope)
        return MessageProcessor(db, service, AgentContextRepositoryImpl(db), FakeAgent())

    async def provide_session_service(
        self, db: AsyncSession, scope: AsyncExitStack
    ) -> ConversationManagementService:
        return ConversationManagementService(self.provide_conversation_repository(db))

    def provide_conversation_repository(self, db: AsyncSession) -> ConversationRepositoryImpl:
        return ConversationRepositoryImpl(db)
