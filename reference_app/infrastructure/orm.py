"""The three tables, with real foreign keys and declared relationships.

The relationships matter even though the code sets FK columns directly: they let SQLAlchemy's
unit of work order inserts (sessions before agent_contexts) within one flush.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class SessionModel(Base):
    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.now(UTC)
    )
    messages: Mapped[list[MessageModel]] = relationship(back_populates="session")
    agent_contexts: Mapped[list[AgentContextModel]] = relationship(back_populates="session")


class MessageModel(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("session_id", "position", name="uq_messages_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    session: Mapped[SessionModel] = relationship(back_populates="messages")


class AgentContextModel(Base):
    __tablename__ = "agent_contexts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_db_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sessions.id"), unique=True, index=True
    )
    payload: Mapped[str] = mapped_column(Text)
    session: Mapped[SessionModel] = relationship(back_populates="agent_contexts")
