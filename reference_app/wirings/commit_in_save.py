"""The incident app's fix 2: the request's session, and `repository.save(commit=True)`.

It persists, but every save is its own commit: a failure later in the request leaves the
earlier rows committed (a partial commit).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from reference_app.infrastructure.conversation_repository import ConversationRepositoryImpl
from reference_app.wirings.session_module import SessionModule


class CommitInSaveModule(SessionModule):
    name = "commit_in_save"

    def provide_conversation_repository(self, db: AsyncSession) -> ConversationRepositoryImpl:
        return ConversationRepositoryImpl(db, commit=True)
