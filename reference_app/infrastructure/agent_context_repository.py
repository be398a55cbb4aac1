"""Agent contexts: the row whose FK to `sessions` exposed the incident app's bug."""

from __future__ import annotations

import logging
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.domain.model import AgentContext
from reference_app.infrastructure.mapper import agent_context_to_domain, agent_context_to_model
from reference_app.infrastructure.orm import AgentContextModel
from reference_app.infrastructure.session_labels import session_label

log = logging.getLogger(__name__)


class AgentContextRepositoryImpl:
    def __init__(self, db: AsyncSession) -> None:
        self._db = db

    async def get_for_session(self, session_id: UUID) -> AgentContext | None:
        model = await self._db.scalar(
            select(AgentContextModel).where(AgentContextModel.session_db_id == session_id)
        )
        return None if model is None else agent_context_to_domain(model)

    async def add(self, context: AgentContext) -> None:
        self._db.add(agent_context_to_model(context))
        await self._db.flush()
        log.info(
            "Agent context created for session %s [%s]",
            context.session_id,
            session_label(self._db),
        )
