"""Request and response bodies; input is validated here, before any driver sees it."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, field_validator

from reference_app.domain.model import ChatMessage

MAX_CONTENT_CHARS = 10_000


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    content: str

    @field_validator("content")
    @classmethod
    def _storable_text(cls, content: str) -> str:
        if not content.strip():
            raise ValueError("must not be empty or whitespace only")
        if len(content) > MAX_CONTENT_CHARS:
            raise ValueError(f"must be at most {MAX_CONTENT_CHARS} characters, got {len(content)}")
        if "\x00" in content:
            raise ValueError("must not contain a NUL character (U+0000)")
        try:
            content.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode: it contains a lone surrogate") from None
        return content


class MessageOut(BaseModel):
    role: str
    content: str
    position: int

    @classmethod
    def of(cls, message: ChatMessage) -> MessageOut:
        return cls(role=message.role.value, content=message.content, position=message.position)


class ConversationOut(BaseModel):
    session_id: UUID
    messages: list[MessageOut]
