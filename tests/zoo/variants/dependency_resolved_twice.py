"""The session dependency resolved twice in one request: the use case takes the request's session
from `Depends(get_db)`, and the conversation service, a dependency of its own, takes its session
from `Depends(get_db, use_cache=False)`, so FastAPI calls get_db a second time and the repository
writes in a session that nobody commits; MessageProcessor commits the first. Modelled on
d3vyce/fastapi-toolsets issue #380 ("`Depends(db)` resolved twice in one request opens two
sessions and silently discards writes") and on FastAPI's dependency cache being keyed per
callable (fastapi/fastapi #2945, dbinfrago/capella-collab-manager #2243).

No `from __future__ import annotations`: FastAPI reads each `Depends` from its annotation."""

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.application.agent import FakeAgent
from reference_app.application.conversation_management_service import (
    ConversationManagementService,
)
from reference_app.application.message_processor import MessageProcessor
from reference_app.application.use_cases import SendUserMessage
from reference_app.infrastructure.agent_context_repository import AgentContextRepositoryImpl
from reference_app.infrastructure.conversation_repository import ConversationRepositoryImpl
from reference_app.infrastructure.database import get_db
from reference_app.wirings import SessionDependency, SessionModule


async def get_conversations(
    repository_db: Annotated[AsyncSession, Depends(get_db, use_cache=False)],
) -> ConversationManagementService:
    """The service as a dependency, on "a fresh session" (`use_cache=False`): a second one."""
    return ConversationManagementService(ConversationRepositoryImpl(repository_db))


async def get_use_case(
    db: Annotated[AsyncSession, Depends(get_db)],
    conversations: Annotated[ConversationManagementService, Depends(get_conversations)],
) -> SendUserMessage:
    return SendUserMessage(
        MessageProcessor(db, conversations, AgentContextRepositoryImpl(db), FakeAgent())
    )


class DependencyResolvedTwiceModule(SessionModule):
    name = "dependency_resolved_twice"
    request_session = SessionDependency(get_db, use_case=get_use_case)
