"""Three tables with real foreign keys; relationships let one flush insert parents first."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class ThreadRow(Base):
    __tablename__ = "threads"

    # The client's own chat id (an integer, as a messenger would send it), not generated here.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    opened_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.now(UTC)
    )
    posts: Mapped[list[PostRow]] = relationship(back_populates="thread")
    memory: Mapped[list[ThreadMemoryRow]] = relationship(back_populates="thread")


class PostRow(Base):
    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("thread_id", "seq", name="uq_posts_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    author: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(Integer)
    thread: Mapped[ThreadRow] = relationship(back_populates="posts")


class ThreadMemoryRow(Base):
    __tablename__ = "thread_memory"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), unique=True)
    state: Mapped[str] = mapped_column(Text)
    thread: Mapped[ThreadRow] = relationship(back_populates="memory")
