"""The chat domain: a conversation's messages and the agent context that points at it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True)
class ChatMessage:
    """One message at its position (0, 1, 2, ...) in a chat session's conversation."""

    session_id: UUID
    role: Role
    content: str
    position: int


@dataclass(frozen=True)
class AgentContext:
    """What the agent keeps about a chat session; its FK is the one the seed saw fail."""

    session_id: UUID
    payload: str
