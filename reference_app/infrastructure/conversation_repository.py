"""ConversationRepositoryImpl: the incident app's repository, which uses whatever session it was
built on.

`commit=True` is the incident app's fix 2 (commit inside save); every other wiring leaves the
commit to the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.domain.model import ChatMessage
from reference_app.infrastructure.mapper import message_to_domain, message_to_model
from reference_app.infrastructure.orm import MessageModel, SessionModel
from reference_app.infrastructure.session_labels import session_label

log = logging.getLogger(__name__)


class ConversationRepositoryImpl:
    def __init__(self, db: AsyncSession, *, commit: bool = False) -> None:
        self._db = db
        self._commit = commit

    async def ensure_session(self, session_id: UUID) -> bool:
        if await self.session_exists(session_id):
            return False
        self._db.add(SessionModel(id=session_id))
        await self._db.flush()
        if self._commit:
            await self._db.commit()
        # The seed logged this after a flush, too: "committed" is what the code believed.
        log.info(
            "Session created and committed in DB: %s [%s]", session_id, session_label(self._db)
        )
        return True

    async def session_exists(self, session_id: UUID) -> bool:
        return await self._db.get(SessionModel, session_id) is not None

    async def next_position(self, session_id: UUID) -> int:
        highest = await self._db.scalar(
            select(func.max(MessageModel.position)).where(MessageModel.session_id == session_id)
        )
        return 0 if highest is None else highest + 1

    async def save(self, session_id: UUID, messages: Sequence[ChatMessage]) -> None:
        label = session_label(self._db)
        log.info("Saving %d messages for conversation %s [%s]", len(messages), session_id, label)
        self._db.add_all([message_to_model(message) for message in messages])
        await self._db.flush()
        if self._commit:
            await self._db.commit()
        log.info("Saved conversation %s [%s]", session_id, label)

    async def list_messages(self, session_id: UUID) -> list[ChatMessage]:
        rows = await self._db.scalars(
            select(MessageModel)
            .where(MessageModel.session_id == session_id)
            .order_by(MessageModel.position)
        )
        return [message_to_domain(row) for row in rows]
