"""MessageProcessor: runs one user message through the chain and commits *its* transaction.

In the seed this commit went to the request's session while the rows sat in another one.
With `commit=False` it leaves the commit to whoever owns the transaction (`commit_in_dependency`:
get_db, after `yield`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from reference_app.application.agent import FakeAgent
from reference_app.application.checkpoints import Point, checkpoint
from reference_app.application.conversation_management_service import (
    ConversationManagementService,
)
from reference_app.application.ports import AgentContextRepository, TransactionBoundary
from reference_app.domain.model import AgentContext, ChatMessage, Role

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessedMessage:
    user_message: ChatMessage
    reply: ChatMessage


class MessageProcessor:
    def __init__(
        self,
        db: TransactionBoundary,
        conversations: ConversationManagementService,
        agent_contexts: AgentContextRepository,
        agent: FakeAgent,
        *,
        commit: bool = True,
    ) -> None:
        self._db = db
        self._commit = commit
        self._conversations = conversations
        self._agent_contexts = agent_contexts
        self._agent = agent

    async def process(self, session_id: UUID, content: str) -> ProcessedMessage:
        try:
            await self._conversations.start_or_resume(session_id)
            user_message = await self._conversations.append(session_id, Role.USER, content)
            await checkpoint(Point.AFTER_USER_MESSAGE)
            if await self._agent_contexts.get_for_session(session_id) is None:
                await self._agent_contexts.add(
                    AgentContext(session_id=session_id, payload='{"turns": 1}')
                )
            await checkpoint(Point.AFTER_AGENT_CONTEXT)
            reply_text = await self._agent.reply(content)
            reply = await self._conversations.append(session_id, Role.ASSISTANT, reply_text)
            await checkpoint(Point.AFTER_REPLY)
            await checkpoint(Point.AT_COMMIT)
            if self._commit:
                await self._db.commit()
        except BaseException:
            await self._db.rollback()
            raise
        log.info("Processed message for conversation %s", session_id)
        return ProcessedMessage(user_message=user_message, reply=reply)
