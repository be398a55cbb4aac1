"""The interfaces the application layer needs; infrastructure implements them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from reference_app.domain.model import AgentContext, ChatMessage


class TransactionBoundary(Protocol):
    """What MessageProcessor commits: an AsyncSession in the seed, a UnitOfWork in fix 3."""

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class ConversationRepository(Protocol):
    async def ensure_session(self, session_id: UUID) -> bool:
        """Create the chat session row if it is missing; True when it was created."""
        ...

    async def next_position(self, session_id: UUID) -> int: ...

    async def save(self, session_id: UUID, messages: Sequence[ChatMessage]) -> None: ...

    async def list_messages(self, session_id: UUID) -> list[ChatMessage]: ...

    async def session_exists(self, session_id: UUID) -> bool: ...


class AgentContextRepository(Protocol):
    async def get_for_session(self, session_id: UUID) -> AgentContext | None: ...

    async def add(self, context: AgentContext) -> None: ...
