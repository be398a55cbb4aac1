"""The false-alarm probe: a second session that only reads (does the chat session exist?), opened
and closed around the read. It loses nothing; a detector that calls it a bug raises a false
alarm. Modelled on "lookup" helpers that open `async with session_maker()` for one query."""

from __future__ import annotations

from contextlib import AsyncExitStack
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reference_app.application.conversation_management_service import (
    ConversationManagementService,
)
from reference_app.infrastructure.conversation_repository import ConversationRepositoryImpl
from reference_app.infrastructure.orm import SessionModel
from reference_app.wirings import SessionModule


class LookupRepository(ConversationRepositoryImpl):
    def __init__(self, db: AsyncSession, lookups: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(db)
        self._lookups = lookups

    async def session_exists(self, session_id: UUID) -> bool:
        async with self._lookups() as lookup:
            return await lookup.get(SessionModel, session_id) is not None


class ReadOnlyHelperModule(SessionModule):
    name = "read_only_helper"

    async def provide_session_service(
        self, db: AsyncSession, scope: AsyncExitStack
    ) -> ConversationManagementService:
        return ConversationManagementService(LookupRepository(db, self._session_maker))
