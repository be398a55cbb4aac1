"""The mapper between domain objects and ORM models (the incident app's `to_model`)."""

from __future__ import annotations

from reference_app.domain.model import AgentContext, ChatMessage, Role
from reference_app.infrastructure.orm import AgentContextModel, MessageModel


def message_to_model(message: ChatMessage) -> MessageModel:
    return MessageModel(
        session_id=message.session_id,
        role=message.role.value,
        content=message.content,
        position=message.position,
    )


def message_to_domain(model: MessageModel) -> ChatMessage:
    return ChatMessage(
        session_id=model.session_id,
        role=Role(model.role),
        content=model.content,
        position=model.position,
    )


def agent_context_to_model(context: AgentContext) -> AgentContextModel:
    return AgentContextModel(session_db_id=context.session_id, payload=context.payload)


def agent_context_to_domain(model: AgentContextModel) -> AgentContext:
    return AgentContext(session_id=model.session_db_id, payload=model.payload)
